import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RepositoryAccessService } from '../src/environments/repository/access-service.js';
import type { StoredRepository } from '../src/environments/record.js';
import type { GuestSession } from '../src/guest/session.js';
import { createLogger } from '../src/log.js';
import { RepositoryStore } from '../src/repositories/store/repository-store.js';

/**
 * What hearthd answers an environment's credential helper, from a real store, over real Unix
 * sockets standing for the guest channel's streams: the owner's token for the repository's own
 * host and path, and for hosts the create granted — nothing for anything else, and never
 * another owner's.
 */
const ALICE = 4101;
const BOB = 4102;

describe("an environment's credential answers", () => {
  let dir: string;
  let store: RepositoryStore;
  const servers: Server[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hearth-access-'));
    store = new RepositoryStore(dir, createLogger('silent'));
    await store.credentials.add(ALICE, { host: 'git.example.org', kind: 'token', token: 'alice-repo-token' });
    await store.credentials.add(ALICE, { host: 'deps.example.org', kind: 'token', token: 'alice-deps-token' });
    await store.credentials.add(ALICE, { host: 'other.example.org', kind: 'token', token: 'alice-other-token' });
    await store.credentials.add(BOB, { host: 'bobs.example.org', kind: 'token', token: 'bobs-token' });
  });
  afterAll(async () => {
    for (const server of servers) server.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Serves one environment's git-credential streams on a Unix socket; asks it like the guest helper does. */
  async function environment(owner: number, repository: StoredRepository) {
    const handlers = new Map<string, (stream: Duplex) => void>();
    const session = {
      serve: (kind: string, handler: (stream: Duplex) => void) => {
        handlers.set(kind, handler);
        return () => handlers.delete(kind);
      },
    } as unknown as GuestSession;
    new RepositoryAccessService(store, { credentialHelper: '/h', sshAgentSocket: '/a' }).serve(
      session,
      owner,
      repository,
      createLogger('silent'),
    );
    const path = join(dir, `env-${servers.length}.sock`);
    const server = createServer({ allowHalfOpen: true }, (socket) => handlers.get('git-credential')!(socket));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(path, resolve));
    return (host: string, askedPath: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect({ path, allowHalfOpen: true });
        let answer = '';
        socket.setEncoding('utf8');
        socket.on('data', (text: string) => (answer += text));
        socket.on('end', () => resolve(answer));
        socket.on('error', reject);
        socket.end(`get\nprotocol=https\nhost=${host}\npath=${askedPath}\n`);
      });
  }

  const repository = (grantHosts?: string[]): StoredRepository => ({
    url: 'https://git.example.org/team/app.git',
    transport: 'https',
    credentialHost: 'git.example.org',
    path: 'team/app.git',
    directory: 'app',
    ref: null,
    ...(grantHosts && { grantHosts }),
  });

  it("answers the owner's token for the repository's own host and path only", async () => {
    const ask = await environment(ALICE, repository());
    expect(await ask('git.example.org', 'team/app.git')).toContain('password=alice-repo-token');
    expect(await ask('git.example.org:443', 'team/app')).toContain('password=alice-repo-token');
    expect(await ask('git.example.org', 'team/other.git')).not.toContain('password=');
    expect(await ask('deps.example.org', 'lib.git')).not.toContain('password=');
    expect(await ask('other.example.org', 'team/app.git')).not.toContain('password=');
  });

  it('answers for a granted host, any path on it, and still for nothing else', async () => {
    const ask = await environment(ALICE, repository(['deps.example.org']));
    expect(await ask('deps.example.org', 'lib/one.git')).toContain('password=alice-deps-token');
    expect(await ask('deps.example.org', 'lib/two.git')).toContain('password=alice-deps-token');
    expect(await ask('other.example.org', 'x.git')).not.toContain('password=');
    expect(await ask('git.example.org', 'team/app.git')).toContain('password=alice-repo-token');
  });

  it("never answers with another owner's token, even for a host granted to the environment", async () => {
    const ask = await environment(ALICE, repository(['bobs.example.org']));
    expect(await ask('bobs.example.org', 'x.git')).not.toContain('password=');
    const bobs = await environment(BOB, repository());
    expect(await bobs('git.example.org', 'team/app.git')).not.toContain('password=');
  });
});
