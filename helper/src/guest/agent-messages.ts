import { Type, type Static } from '@sinclair/typebox';
import { compileValidator } from '../validate.js';
import { FRAME_LINE_MAX_BYTES } from './protocol/frames.js';

/**
 * The agent's reports (protocol v1, which every agent version sends): what a guest's agent says
 * of its provisioning (`agent-script.ts` is the agent). It comes from inside a VM, so it is
 * hostile input: one JSON object per line, at most `AGENT_LINE_MAX_BYTES`, checked against this
 * schema; anything else is dropped and counted. The channel is the VM's own device, so a message
 * can only ever be about that VM. Protocol v2's frames (protocol/frames.ts) share the lines.
 */
export const AGENT_LINE_MAX_BYTES = FRAME_LINE_MAX_BYTES;
/** Reports beyond this many per second are dropped (a chatty or hostile guest costs hearthd nothing). */
export const AGENT_LINES_PER_SECOND = 20;

/**
 * The first agent version that reports `readiness`. An agent that never announces one (the
 * version-1 agent baked into older local images, which sends only `status`) is judged the old
 * way: usable once cloud-init is done.
 */
export const READINESS_AGENT_VERSION = 2;

export const CloudInitStatus = Type.Union(
  [Type.Literal('waiting'), Type.Literal('running'), Type.Literal('done'), Type.Literal('error')],
  {
    description:
      'waiting: cloud-init has not started; running; done: finished without errors; error: finished with errors',
  },
);

/** The guest's host public keys as it sees them ("type base64"); compared with hearthd's, never trusted. */
const GuestHostKeys = Type.Array(Type.String({ maxLength: 1000 }), { maxItems: 4 });

/** cloud-init's progress, from its own status files. Every agent version sends it. */
export const AgentStatus = Type.Object(
  {
    v: Type.Literal(1),
    type: Type.Literal('status'),
    /** cloud-init's current or last stage: init-local, init, modules-config, modules-final. */
    stage: Type.Union([Type.String({ pattern: '^[a-z0-9][a-z0-9:_.-]{0,63}$' }), Type.Null()]),
    cloudInit: CloudInitStatus,
    errors: Type.Array(Type.String({ maxLength: 500 }), { maxItems: 8 }),
    hostKeys: GuestHostKeys,
  },
  { additionalProperties: false },
);
export type AgentStatus = Static<typeof AgentStatus>;

/**
 * What makes the guest usable, as the agent found it (from version 2): facts, not a verdict —
 * hearthd decides (`guest/usable.ts`) by comparing them with what it expects of this environment.
 * Later facts (the repository cloned) join here as new fields of a higher `agent` version.
 */
export const AgentReadiness = Type.Object(
  {
    v: Type.Literal(1),
    type: Type.Literal('readiness'),
    /** The agent's own version: what it knows how to report. */
    agent: Type.Integer({ minimum: READINESS_AGENT_VERSION, maximum: 1000 }),
    /** The developer user exists (passwd entry and home directory). */
    user: Type.Boolean(),
    /**
     * SHA256 fingerprints ("SHA256:" + unpadded base64, as `ssh-keygen -l` prints them) of the
     * keys in that user's authorized_keys — only when sshd would accept the file (owned by the
     * user or root, not writable by group or others, nor its directory).
     */
    authorizedKeys: Type.Array(Type.String({ pattern: '^SHA256:[A-Za-z0-9+/]{43}$' }), { maxItems: 16 }),
    /** Something listens on TCP port 22 (sshd itself or its systemd socket). */
    sshd: Type.Boolean(),
    hostKeys: GuestHostKeys,
  },
  { additionalProperties: false },
);
export type AgentReadiness = Static<typeof AgentReadiness>;

export const AgentMessage = Type.Union([AgentStatus, AgentReadiness]);
export type AgentMessage = Static<typeof AgentMessage>;
export const isAgentMessage = compileValidator(AgentMessage);
