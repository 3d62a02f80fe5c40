import { dirname, join } from 'node:path';
import type { AccessCheck, RepositoryLocation } from '#protocol';
import { DomainError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { StoredCredential } from '../store/credential-store.js';
import type { RepositoryStore } from '../store/repository-store.js';
import { classifyFailure, type Failure } from './classify.js';
import type { GitUser } from './git-user.js';
import { scanHostKey } from './keyscan.js';
import { parseLsRemote, resolveRef } from './remote-refs.js';
import { runAsGitUser } from './run-as-git-user.js';
import { ScratchArea, type ScratchFile } from './scratch.js';
import { SSH_COMMAND, sshScratchFiles } from './ssh-setup.js';

/**
 * git runs this credential helper through sh, exactly as written (nothing variable is ever in
 * it): for `get` it prints what hearthd wrote to fd 3 — `username=…`, `password=…` — and for
 * anything else nothing. fd 3 is a pipe hearthd fills and closes; the secret is in no argv,
 * environment or file.
 */
export const CREDENTIAL_HELPER = '!f() { if test "$1" = get; then cat <&3; fi; }; f';

/** The user name sent with a token when the credential names none (GitHub and GitLab accept any). */
export const PLACEHOLDER_USERNAME = 'oauth2';

const DEFAULT_TIMEOUT_MS = 30_000;
/** Each check holds a few processes for up to the timeout: a member may run this many at once, all together this many. */
const MAX_CHECKS_PER_OWNER = 3;
const MAX_CHECKS = 12;
const MAX_BRANCHES = 500;

export interface AccessCheckerOptions {
  store: RepositoryStore;
  /** undefined: run as hearthd itself (not root); null: root without a git user, so no check runs. */
  gitUser: GitUser | undefined | null;
  /** `<state>/git-check`: the scratch directories' parent. */
  scratchRoot: string;
  /** A system program's trusted path (git, ssh-keyscan). */
  program: (name: string) => Promise<string>;
  log: Logger;
  timeoutMs?: number | undefined;
}

/** `https://host[:port]/path` and `https://host[:port]/` of a location: the keys git's per-URL settings match. */
function httpsUrls(location: RepositoryLocation): { repository: string; base: string } {
  const base = `https://${location.credentialHost}/`;
  return { repository: `${base}${location.path}`, base };
}

/**
 * Checks that an owner can reach a repository: `git ls-remote --symref` as the git user, in a
 * fresh scratch HOME, with a hardened environment and configuration, the owner's credential for
 * that host offered only for that URL, and a timeout. The answer names the branches, the default
 * branch and what the ref points at, or why not.
 */
export class AccessChecker {
  private readonly scratch: ScratchArea;
  private readonly running = new Map<number, number>();
  private total = 0;

  constructor(private readonly options: AccessCheckerOptions) {
    this.scratch = new ScratchArea(options.scratchRoot, options.gitUser ?? undefined);
  }

  /** Clears scratch directories a crash left. */
  open(): Promise<void> {
    return this.scratch.sweep();
  }

  async check(ownerUid: number, location: RepositoryLocation, ref: string | undefined): Promise<AccessCheck> {
    if (this.options.gitUser === null)
      throw new DomainError(
        'unavailable',
        'Access checks run as the hearth-git user, which does not exist on this machine',
        'reinstall the helper (it creates the user), or start hearthd with --git-user NAME',
      );
    const mine = this.running.get(ownerUid) ?? 0;
    if (mine >= MAX_CHECKS_PER_OWNER || this.total >= MAX_CHECKS)
      throw new DomainError(
        'limit',
        mine >= MAX_CHECKS_PER_OWNER
          ? `You have ${mine} access checks running; wait for one to finish`
          : 'Too many access checks are running on this machine; try again in a moment',
      );
    this.running.set(ownerUid, mine + 1);
    this.total += 1;
    try {
      return await this.checkNow(ownerUid, location, ref);
    } finally {
      this.total -= 1;
      const left = (this.running.get(ownerUid) ?? 1) - 1;
      if (left) this.running.set(ownerUid, left);
      else this.running.delete(ownerUid);
    }
  }

  private async checkNow(
    ownerUid: number,
    location: RepositoryLocation,
    ref: string | undefined,
  ): Promise<AccessCheck> {
    const { store, log } = this.options;
    const kind = location.transport === 'https' ? 'token' : 'ssh-key';
    const credential = await store.credentialFor(ownerUid, location.credentialHost, kind);
    const pinned = location.transport === 'ssh' ? await store.pinnedHostKeys(ownerUid, location.credentialHost) : [];
    let answer: AccessCheck;
    if (location.transport === 'ssh' && !credential) {
      answer = this.failed(
        {
          code: 'no-credential',
          message: `You have no SSH key for ${location.credentialHost}: add one under Repository access, then add its public key to ${location.credentialHost}`,
        },
        null,
      );
    } else {
      answer = await this.run(location, ref, credential, pinned);
    }
    if (credential)
      await store.credentials.recordCheck(ownerUid, credential.id, {
        code: answer.code,
        message: answer.message,
        repository: location.url,
        at: new Date().toISOString(),
      });
    log.info(
      { owner: ownerUid, host: location.credentialHost, transport: location.transport, code: answer.code },
      'access check',
    );
    return answer;
  }

  private failed(
    failure: Failure,
    credential: StoredCredential | undefined | null,
    extra: Partial<AccessCheck> = {},
  ): AccessCheck {
    return {
      ok: false,
      code: failure.code,
      message: failure.message,
      credentialId: credential?.id ?? null,
      defaultBranch: null,
      branches: [],
      ref: null,
      commit: null,
      hostKey: null,
      ...extra,
    };
  }

  private async run(
    location: RepositoryLocation,
    ref: string | undefined,
    credential: StoredCredential | undefined,
    pinned: string[],
  ): Promise<AccessCheck> {
    const { gitUser } = this.options;
    const timeoutMs = this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const git = await this.options.program('git');
    const config = [
      'protocol.allow=never',
      'protocol.https.allow=always',
      'protocol.ssh.allow=always',
      'http.followRedirects=false',
      'credential.helper=',
    ];
    let fd3: string | undefined;
    const scratch = await this.scratch.create((home) => {
      const files: ScratchFile[] = [];
      if (location.transport === 'https') {
        const urls = httpsUrls(location);
        if (credential?.kind === 'token') {
          config.push(`credential.${urls.repository}.helper=${CREDENTIAL_HELPER}`, 'credential.useHttpPath=true');
          fd3 = `username=${credential.username ?? location.user ?? PLACEHOLDER_USERNAME}\npassword=${credential.token}\n`;
          if (credential.caCertificate !== null) {
            files.push({ path: 'ca.pem', content: credential.caCertificate });
            config.push(`http.${urls.base}.sslCAInfo=${join(home, 'ca.pem')}`);
          }
        }
      } else {
        const key = credential?.kind === 'ssh-key' ? credential : undefined;
        files.push(...sshScratchFiles(home, location, pinned, key));
        config.push(`core.sshCommand=${SSH_COMMAND}`, 'ssh.variant=ssh');
      }
      return files;
    });
    try {
      const result = await runAsGitUser(
        gitUser ?? undefined,
        git,
        ['-C', scratch.dir, ...config.flatMap((c) => ['-c', c]), 'ls-remote', '--symref', '--', location.url],
        {
          cwd: dirname(scratch.dir),
          env: {
            PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
            HOME: scratch.dir,
            GIT_TERMINAL_PROMPT: '0',
            GIT_CONFIG_NOSYSTEM: '1',
            GIT_CONFIG_GLOBAL: '/dev/null',
            GIT_PROTOCOL_FROM_USER: '0',
            LC_ALL: 'C',
          },
          timeoutMs,
          fd3,
        },
      );
      if (result.exitCode !== 0 || result.timedOut) {
        const failure = classifyFailure(redact(result.stderr, credential), {
          host: location.credentialHost,
          transport: location.transport,
          withCredential: credential !== undefined,
          pinnedKeys: pinned.length,
          timedOut: result.timedOut,
          timeoutSeconds: Math.round(timeoutMs / 1000),
        });
        const hostKey =
          failure.code === 'host-key-unknown' || failure.code === 'host-key-changed'
            ? await scanHostKey(
                gitUser ?? undefined,
                await this.options.program('ssh-keyscan'),
                location,
                pinned,
                dirname(scratch.dir),
              )
            : null;
        return this.failed(failure, credential, { hostKey });
      }
      return this.succeeded(result.stdout, ref, credential);
    } finally {
      await scratch.remove();
    }
  }

  private succeeded(stdout: string, ref: string | undefined, credential: StoredCredential | undefined): AccessCheck {
    const refs = parseLsRemote(stdout);
    const branches = [...refs.branches.keys()].sort().slice(0, MAX_BRANCHES);
    const found = resolveRef(refs, ref);
    const common = { credentialId: credential?.id ?? null, defaultBranch: refs.defaultBranch, branches, hostKey: null };
    if (!found)
      return {
        ok: false,
        code: 'ref-not-found',
        message: `The repository has no branch or tag "${ref ?? ''}"`,
        ref: ref ?? null,
        commit: null,
        ...common,
      };
    const empty = refs.branches.size === 0 && refs.tags.size === 0;
    return {
      ok: true,
      code: 'ok',
      message: empty
        ? 'The repository is reachable, and empty'
        : `The repository is reachable${found.ref ? `: ${found.ref} is at ${found.commit?.slice(0, 12) ?? 'an unknown commit'}` : ''}`,
      ref: found.ref,
      commit: found.commit,
      ...common,
    };
  }
}

/** git never prints the token, but its error lines are shown to the user: a token in them would be cut out. */
function redact(text: string, credential: StoredCredential | undefined): string {
  return credential?.kind === 'token' ? text.split(credential.token).join('[token]') : text;
}
