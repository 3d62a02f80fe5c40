/**
 * A real Git server for tests: git's own smart HTTP (git http-backend) behind HTTPS with a test CA
 * and a token, and OpenSSH's sshd with a key-only git-shell login, both inside the network
 * namespace the test names (or on 127.0.0.1 in the caller's), serving bare repositories made with
 * real commits. See docs/testing.md, "Repository tests".
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, chmod, chown, lstat, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, isIPv6, type AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { ensureGitUser, GIT_USER, GIT_USER_HOME } from './git-user.js';
import { Repositories, type LogEntry } from './repositories.js';
import { ServerProcess } from './server-process.js';
import { newHostKey, sshdFiles, startSshd, writeSshdConfig } from './sshd.js';
import { makeTestTls } from './tls.js';

export { onlyOnBranch, type LogEntry } from './repositories.js';
export { GIT_USER } from './git-user.js';

const REPO_ROOT = resolve(import.meta.dirname, '..', '..', '..', '..');
const HTTPS_BACKEND = join(import.meta.dirname, 'https-backend.ts');

export interface GitServerOptions {
  /** The network namespace to serve in; without one, the caller's namespace (use 127.0.0.1 there). */
  netns?: string;
  /** The IP literal both servers listen on and the certificate names; 127.0.0.1 by default. */
  address?: string;
  /** The DNS name the certificate carries besides the address; git.hearth.test by default. */
  hostName?: string;
  /**
   * The fixture's directory (made if missing). Every directory above it must be root-owned and not
   * group- or world-writable (sshd's StrictModes), so not under /tmp. A new directory under
   * /var/lib/hearth-test-gitsrv by default.
   */
  dir?: string;
  /** 443 and 22 in a namespace of the test's; free ports otherwise. */
  httpsPort?: number;
  sshPort?: number;
}

export interface GitServer {
  address: string;
  hostName: string;
  dir: string;
  https: {
    port: number;
    caPem: string;
    /** The CA certificate as a file, for GIT_SSL_CAINFO / http.sslCAInfo. */
    caFile: string;
    /** The password HTTP Basic needs (any user name). */
    token: string;
    /** `https://<address>:<port>/<repo>.git` */
    url(repo: string): string;
    /** The same through the certificate's DNS name (the client must resolve it: http.curloptResolve). */
    urlByName(repo: string): string;
    /** A URL that answers 302 to the repository under the DNS name: a client must not follow it. */
    movedUrl(repo: string): string;
  };
  ssh: {
    port: number;
    user: string;
    /** The current host key, `ssh-ed25519 AAAA…`. */
    readonly hostKey: string;
    /** A known_hosts line pinning it for `address` (and port, unless 22). */
    knownHostsLine(): string;
    /** `ssh://hearth-test-gitsrv@<address>:<port>/<dir>/repos/<repo>.git` (absolute path). */
    url(repo: string): string;
    /** `hearth-test-gitsrv@<address>:<dir>/repos/<repo>.git`, the scp-like form (port 22 only). */
    scpUrl(repo: string): string;
    /** Lets the holder of this key in (one `ssh-ed25519 AAAA… [comment]` line), with `restrict`. */
    authorize(publicKey: string): Promise<void>;
    /** A new host key, sshd restarted with it; returns its public line. */
    rotateHostKey(): Promise<string>;
  };
  /** A bare `<repo>.git` with branches main (HEAD) and feature unless told, each with its own file. */
  createRepository(name: string, options?: { branches?: readonly string[] }): Promise<void>;
  head(repo: string, branch: string): Promise<string>;
  log(repo: string, branch: string): Promise<LogEntry[]>;
  /**
   * The servers' recent output (sshd at LogLevel VERBOSE: which key was accepted or refused; the
   * HTTPS backend: git http-backend's stderr), for assertions and failure messages.
   */
  logs(): { https: string; sshd: string };
  /** Ends both servers and removes everything the fixture made (not the system user). Idempotent. */
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise((done) => server.close(done));
  return port;
}

/** sshd's StrictModes rule for the directories above its files, checked up front for a clear error. */
async function checkParents(dir: string): Promise<void> {
  for (let at = dirname(dir); ; at = dirname(at)) {
    const stat = await lstat(at).catch(() => undefined);
    if (!stat) throw new Error(`${at} (above the git server's directory ${dir}) does not exist`);
    if (stat.uid !== 0 || (stat.mode & 0o022) !== 0 || stat.isSymbolicLink())
      throw new Error(
        `${at} (above the git server's directory ${dir}) must be a root-owned directory, not group- or world-writable: sshd's StrictModes checks it`,
      );
    if (at === '/') return;
  }
}

export async function startGitServer(options: GitServerOptions = {}): Promise<GitServer> {
  const address = options.address ?? '127.0.0.1';
  const hostName = options.hostName ?? 'git.hearth.test';
  const user = await ensureGitUser();
  const made: string[] = [];
  let dir: string;
  if (options.dir === undefined) {
    dir = await mkdtemp(join(GIT_USER_HOME, 'srv-'));
    made.push(dir);
  } else {
    dir = resolve(options.dir);
    await checkParents(dir);
    // Made here (and so removed by stop) only if it was missing; its parents must exist.
    if (!existsSync(dir)) {
      await mkdir(dir);
      made.push(dir);
    }
  }
  await chmod(dir, 0o755);
  const sub = async (name: string, mode: number, owner?: { uid: number; gid: number }): Promise<string> => {
    const path = join(dir, name);
    await mkdir(path, { mode });
    made.push(path);
    await chmod(path, mode);
    if (owner) await chown(path, owner.uid, owner.gid);
    return path;
  };
  const processes: ServerProcess[] = [];
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await Promise.all(processes.map((p) => p.stop()));
    for (const path of made.reverse()) await rm(path, { recursive: true, force: true });
  };

  try {
    const repositories = new Repositories(
      await sub('repos', 0o755, user),
      await sub('scratch', 0o700, user),
      user,
      GIT_USER_HOME,
    );
    const tls = await makeTestTls(await sub('tls', 0o755), address, hostName);
    const sshd = sshdFiles(await sub('sshd', 0o755));
    const token = `hgt_${randomBytes(20).toString('hex')}`;
    const inNamespace = options.netns !== undefined;

    const https = await ServerProcess.start(
      'the git HTTPS backend',
      options.netns,
      [
        process.execPath,
        '--import',
        'tsx',
        HTTPS_BACKEND,
        '--address',
        address,
        '--port',
        String(options.httpsPort ?? (inNamespace ? 443 : 0)),
        '--root',
        repositories.root,
        '--cert',
        tls.certFile,
        '--key',
        tls.keyFile,
        '--uid',
        String(user.uid),
        '--gid',
        String(user.gid),
        '--host-name',
        hostName,
      ],
      { PATH: process.env.PATH ?? '/usr/bin:/bin', GITSRV_TOKEN: token },
      (line) => {
        try {
          const parsed = JSON.parse(line) as { port?: unknown };
          return typeof parsed.port === 'number' ? parsed.port : undefined;
        } catch {
          return undefined;
        }
      },
      { cwd: REPO_ROOT },
    );
    processes.push(https.process);
    const httpsPort = https.ready;

    const sshPort = options.sshPort ?? (inNamespace ? 22 : await freePort());
    let hostKey = await newHostKey(sshd);
    await writeFile(sshd.authorizedKeys, '', { mode: 0o644 });
    await writeSshdConfig(sshd, address, sshPort);
    let sshdProcess = await startSshd(sshd, options.netns);
    processes.push(sshdProcess);

    const host = isIPv6(address) ? `[${address}]` : address;
    const sshPath = (repo: string): string => repositories.path(repo);
    return {
      address,
      hostName,
      dir,
      https: {
        port: httpsPort,
        caPem: tls.caPem,
        caFile: tls.caFile,
        token,
        url: (repo) => `https://${host}:${httpsPort}/${repo}.git`,
        urlByName: (repo) => `https://${hostName}:${httpsPort}/${repo}.git`,
        movedUrl: (repo) => `https://${host}:${httpsPort}/moved/${repo}.git`,
      },
      ssh: {
        port: sshPort,
        user: GIT_USER,
        get hostKey() {
          return hostKey;
        },
        knownHostsLine: () => `${sshPort === 22 ? address : `[${address}]:${sshPort}`} ${hostKey}`,
        url: (repo) => `ssh://${GIT_USER}@${host}:${sshPort}${sshPath(repo)}`,
        scpUrl: (repo) => {
          if (sshPort !== 22) throw new Error(`the scp-like form has no port, and sshd listens on ${sshPort}`);
          return `${GIT_USER}@${host}:${sshPath(repo)}`;
        },
        authorize: async (publicKey) => {
          const line = publicKey.trim();
          if (!/^(ssh-ed25519|ecdsa-sha2-nistp256|ssh-rsa) [A-Za-z0-9+/=]+( [^\n\r]*)?$/.test(line))
            throw new Error(`not one public key line: ${JSON.stringify(publicKey)}`);
          await appendFile(sshd.authorizedKeys, `restrict ${line}\n`);
        },
        rotateHostKey: async () => {
          await sshdProcess.stop();
          hostKey = await newHostKey(sshd);
          const next = await startSshd(sshd, options.netns);
          processes.splice(processes.indexOf(sshdProcess), 1, next);
          sshdProcess = next;
          return hostKey;
        },
      },
      createRepository: (name, o) => repositories.create(name, o?.branches),
      head: (repo, branch) => repositories.head(repo, branch),
      log: (repo, branch) => repositories.log(repo, branch),
      logs: () => ({ https: https.process.log(500), sshd: sshdProcess.log(500) }),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
