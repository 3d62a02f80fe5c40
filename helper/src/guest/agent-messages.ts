import { Type, type Static } from '@sinclair/typebox';
import { compileValidator } from '../validate.js';

/**
 * What a guest's agent may say over its private channel (`agent-script.ts` is the agent). It
 * comes from inside a VM, so it is hostile input: one JSON object per line, at most
 * `AGENT_LINE_MAX_BYTES`, checked against this schema; anything else is dropped and counted.
 * The channel is the VM's own device, so a message can only ever be about that VM.
 */
export const AGENT_LINE_MAX_BYTES = 4096;
/** Lines beyond this many per second are dropped (a chatty or hostile guest costs hearthd nothing). */
export const AGENT_LINES_PER_SECOND = 20;

export const CloudInitStatus = Type.Union(
  [Type.Literal('waiting'), Type.Literal('running'), Type.Literal('done'), Type.Literal('error')],
  {
    description:
      'waiting: cloud-init has not started; running; done: finished without errors; error: finished with errors',
  },
);

export const AgentStatus = Type.Object(
  {
    v: Type.Literal(1),
    type: Type.Literal('status'),
    /** cloud-init's current or last stage: init-local, init, modules-config, modules-final. */
    stage: Type.Union([Type.String({ pattern: '^[a-z0-9][a-z0-9:_.-]{0,63}$' }), Type.Null()]),
    cloudInit: CloudInitStatus,
    errors: Type.Array(Type.String({ maxLength: 500 }), { maxItems: 8 }),
    /** The guest's host public keys as it sees them ("type base64"); compared with hearthd's, never trusted. */
    hostKeys: Type.Array(Type.String({ maxLength: 1000 }), { maxItems: 4 }),
  },
  { additionalProperties: false },
);
export type AgentStatus = Static<typeof AgentStatus>;

export const AgentMessage = AgentStatus;
export type AgentMessage = Static<typeof AgentMessage>;
export const isAgentMessage = compileValidator(AgentMessage);
