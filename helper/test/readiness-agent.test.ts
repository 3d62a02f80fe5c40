import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Settings } from '#protocol';
import { Entry } from '../src/environments/entry.js';
import { layoutOf } from '../src/environments/layout.js';
import { transition, type LifecycleEvent } from '../src/environments/lifecycle.js';
import { Readiness, waitingProvisioning } from '../src/environments/readiness.js';
import { AGENT_VERSION } from '../src/guest/agent-script.js';
import { fingerprintOf } from '../src/guest/usable.js';
import type { ImageStore } from '../src/images/image-store.js';
import { createLogger } from '../src/log.js';
import { sampleRecord } from './support/records.js';
import { eventually } from './support/eventually.js';

/**
 * Readiness as hearthd runs it for a cloud-init image, over a real guest channel: hearthd's real
 * GuestChannel connects to a listener that plays QEMU's chardev, and the test writes what an
 * agent writes. Lifecycle events go through the real transition table. What the real agent in a
 * real guest sends is proven by local-build-boot and provisioning (VM tests); here the versions
 * and orders that a VM test cannot stage: the version-1 agent of an older local image, and
 * cloud-init's error after `running`.
 */
const OWNER_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGm5Ijb8mS3n7j0K1q2w3e4r5t6y7u8i9o0p1a2s3d4f me';
const HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfTheGuestxxxxxxxxxxxxxxxxxxxxxxxxx';

const line = (value: object) => `${JSON.stringify(value)}\n`;
/** Byte for byte what the version-1 agent (Python's json.dumps) printed. */
const v1Status = (cloudInit: string, stage: string | null, errors: string[] = []) =>
  `{"v": 1, "type": "status", "stage": ${JSON.stringify(stage)}, "cloudInit": "${cloudInit}", "errors": ${JSON.stringify(errors)}, "hostKeys": ["${HOST_KEY}"]}\n`;
const readiness = (over: object = {}) =>
  line({
    v: 1,
    type: 'readiness',
    agent: AGENT_VERSION,
    user: true,
    authorizedKeys: [fingerprintOf(OWNER_KEY)],
    sshd: true,
    hostKeys: [HOST_KEY],
    ...over,
  });

describe('Readiness over a real guest channel', () => {
  let dir: string;
  let server: Server;
  let guest: Promise<Socket>;
  let entry: Entry;
  let readinessOf: Readiness;
  const dispatched: string[] = [];
  const journal: Array<{ event: string; message: string }> = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hearth-readiness-'));
    const socket = join(dir, 'agent.sock');
    guest = new Promise((resolve) => {
      server = createServer((s) => resolve(s));
    });
    await new Promise<void>((r) => server.listen(socket, r));
    const record = sampleRecord();
    record.spec.sshPublicKey = OWNER_KEY;
    record.components.hostKeys = [{ type: 'ssh-ed25519', publicKey: HOST_KEY, fingerprint: fingerprintOf(HOST_KEY) }];
    record.status.state = 'starting';
    record.status.startedAt = new Date().toISOString();
    record.status.provisioning = waitingProvisioning();
    entry = new Entry(record, layoutOf(join(dir, 'state'), join(dir, 'run'), record.spec.id));
    dispatched.length = 0;
    journal.length = 0;
    readinessOf = new Readiness({
      settings: () => ({ provisionTimeoutSeconds: 3, bootTimeoutSeconds: 60 }) as Settings,
      images: { get: () => Promise.resolve({ manifest: { provisioning: 'cloud-init' } }) } as unknown as ImageStore,
      log: () => createLogger('silent', { write: () => undefined }),
      journal: (_entry, event, message) => {
        journal.push({ event, message });
        return Promise.resolve();
      },
      // The real transition table; its effects are noted, the VMM's exit is the test's to report.
      dispatch: (e, event: LifecycleEvent) => {
        const s = e.record.status;
        const t = transition(
          { state: s.state, desired: e.record.spec.desired, autostart: false, failure: e.runtime.failure },
          event,
        );
        if ('refused' in t) return Promise.resolve();
        s.state = t.state;
        if ('failure' in t) e.runtime.failure = t.failure;
        if (t.reason !== undefined) s.reason = t.reason;
        dispatched.push(`${event.type} → ${t.state}${t.effects.length ? ` [${t.effects.join(', ')}]` : ''}`);
        return Promise.resolve();
      },
      persist: () => Promise.resolve(),
    });
    // As the reconciler does at launch: the runtime's guest session first, readiness its subscriber.
    entry.runtime.openSession({
      endpoint: { connect: socket },
      log: createLogger('silent', { write: () => undefined }),
    });
    await readinessOf.awaitReady(entry);
  });

  afterEach(async () => {
    entry.runtime.dispose();
    (await guest).destroy();
    await new Promise((r) => server.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  it('a version-1 agent (an older local image): running when cloud-init is done, as before', async () => {
    const agent = await guest;
    agent.write(v1Status('running', 'init'));
    agent.write(v1Status('running', 'modules-final'));
    await eventually(() => entry.record.status.provisioning?.stage === 'modules-final', {
      timeoutMs: 5_000,
      what: 'the stage',
    });
    expect(entry.record.status.state).toBe('starting');
    agent.write(v1Status('done', 'modules-final'));
    await eventually(() => entry.record.status.state === 'running', { timeoutMs: 5_000, what: 'running' });
    expect(dispatched).toEqual(['ready → running']);
    expect(journal.find((j) => j.event === 'ready')?.message).toBe(
      'the guest agent (version 1: it reports no readiness) reports that cloud-init finished',
    );
    expect(journal.some((j) => j.event === 'host-keys')).toBe(true);
  });

  it('a version-2 agent: running on its facts while cloud-init still runs; a later cloud-init error fails it', async () => {
    const agent = await guest;
    agent.write(readiness({ sshd: false }) + v1Status('running', 'init'));
    await eventually(() => entry.record.status.provisioning?.stage === 'init', { timeoutMs: 5_000, what: 'the stage' });
    expect(entry.record.status.state).toBe('starting');
    agent.write(readiness() + v1Status('running', 'modules-config'));
    await eventually(() => entry.record.status.state === 'running', { timeoutMs: 5_000, what: 'running' });
    expect(journal.find((j) => j.event === 'ready')?.message).toBe(
      "the guest agent reports the user, the owner's key and sshd ready (cloud-init at stage init)",
    );
    // The provisioning field goes on showing cloud-init while the environment runs...
    agent.write(readiness() + v1Status('running', 'modules-final'));
    await eventually(() => entry.record.status.provisioning?.stage === 'modules-final', {
      timeoutMs: 5_000,
      what: 'the stage',
    });
    // ...and its error ends it: the VMM is terminated and its exit reports cloud-init's words.
    agent.write(readiness() + v1Status('error', 'modules-final', ["('scripts_user', RuntimeError('failed'))"]));
    await eventually(() => dispatched.length === 2, { timeoutMs: 5_000, what: 'provisioning-failed' });
    expect(dispatched).toEqual(['ready → running', 'provisioning-failed → running [terminate]']);
    expect(entry.runtime.failure).toBe("cloud-init finished with errors: ('scripts_user', RuntimeError('failed'))");
  });

  it('a version-2 agent whose guest never becomes usable: cloud-init done is not enough; the timeout names what is missing', async () => {
    const agent = await guest;
    agent.write(readiness({ authorizedKeys: [] }) + v1Status('done', 'modules-final'));
    await eventually(() => journal.some((j) => j.event === 'not-usable'), { timeoutMs: 5_000, what: 'not-usable' });
    expect(entry.record.status.state).toBe('starting');
    expect(journal.find((j) => j.event === 'not-usable')?.message).toBe(
      "cloud-init finished, but the guest is not usable yet: missing the owner's key in dev's authorized_keys",
    );
    await eventually(() => dispatched.length === 1, { timeoutMs: 8_000, what: 'the timeout' });
    expect(dispatched).toEqual(['boot-timeout → starting [terminate]']);
    expect(entry.runtime.failure).toBe(
      "the guest was not usable within 3 s (provisionTimeoutSeconds): missing the owner's key in dev's authorized_keys; cloud-init's last stage seen: modules-final (cloud-init done)",
    );
  });
});
