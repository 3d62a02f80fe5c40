import type { AccessCheck, ConnectionStatus, Credential, HearthApi, IpcError } from '#protocol';

export const connected: ConnectionStatus = {
  state: 'connected',
  message: 'Connected',
  socket: '/run/hearth/hearthd.sock',
  bundledVersion: '0.1.0',
  upgradeAvailable: false,
  since: 0,
};

/** A value, or a function of the request giving one. */
export type Answer = unknown;

/** hearthd's refusal as main passes it on. */
export class Refusal {
  constructor(readonly error: IpcError) {}
}

/**
 * A stand-in for main (the preload's `window.hearth`), answering each call from `answers` (a value,
 * or a function of the request; a Refusal answers with an error) and recording every call, so a
 * test can say what the window sent. Shaped by the contract: the answers are typed from it.
 */
export function fakeMain(answers: Record<string, Answer>) {
  const calls: Array<{ name: string; request: unknown }> = [];
  const api: HearthApi = {
    invoke: (name, request) => {
      calls.push({ name, request });
      const answer = answers[name];
      const value: unknown = typeof answer === 'function' ? (answer as (r: unknown) => unknown)(request) : answer;
      if (value instanceof Refusal) return Promise.resolve({ ok: false, error: value.error } as never);
      return Promise.resolve({ ok: true, value } as never);
    },
    on: () => () => undefined,
  };
  Object.defineProperty(window, 'hearth', { value: api, configurable: true });
  return { calls, of: (name: string) => calls.filter((c) => c.name === name).map((c) => c.request) };
}

export const token: Credential = {
  id: 'cred-0123456789ab',
  host: 'bitbucket.org',
  kind: 'token',
  username: 'ada',
  publicKey: null,
  fingerprint: null,
  caCertificate: false,
  createdAt: '2026-12-01T10:00:00.000Z',
  lastCheck: {
    code: 'auth-refused',
    message: 'bitbucket.org refused the token (HTTP 401)',
    repository: 'https://bitbucket.org/ada/site.git',
    at: '2026-12-02T10:00:00.000Z',
  },
};

export const sshKey: Credential = {
  id: 'cred-abcdefabcdef',
  host: 'git.example.com:2222',
  kind: 'ssh-key',
  username: null,
  publicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ0bm9uZS1vZi10aGlzLWlzLWEtcmVhbC1rZXk hearth-1000@git.example.com',
  fingerprint: 'SHA256:3p8mJ0FqzVbW2QeYFv9kX3q5r0m1d2Yc4z7h8t9u0vQ',
  caCertificate: true,
  createdAt: '2026-12-01T10:00:00.000Z',
  lastCheck: null,
};

export const COMMIT = '0123456789abcdef0123456789abcdef01234567';

export function okCheck(ref: string | null = null): AccessCheck {
  return {
    ok: true,
    code: 'ok',
    message: 'Access works',
    credentialId: token.id,
    defaultBranch: 'main',
    branches: ['main', 'feature', 'release/1.0'],
    ref: ref ?? 'main',
    commit: COMMIT,
    hostKey: null,
  };
}

export function failedCheck(
  code: AccessCheck['code'],
  message: string,
  hostKey: AccessCheck['hostKey'] = null,
): AccessCheck {
  return {
    ok: false,
    code,
    message,
    credentialId: null,
    defaultBranch: null,
    branches: [],
    ref: null,
    commit: null,
    hostKey,
  };
}

// jsdom has <dialog> but not its modal methods: the smallest stand-in (open state and the close event).
export function dialogStandIn(): void {
  Object.assign(HTMLDialogElement.prototype, {
    showModal(this: HTMLDialogElement) {
      this.open = true;
    },
    close(this: HTMLDialogElement) {
      this.open = false;
      this.dispatchEvent(new Event('close'));
    },
  });
}
