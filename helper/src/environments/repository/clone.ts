import { GUEST_USER } from '../../guest/account.js';
import { WORKSPACE, type StoredRepository } from '../record.js';
import { mustRunInGuest, type GuestExec } from './guest-exec.js';

/** git's progress: the phase it is in and how far through it. */
export interface CloneProgress {
  phase: string;
  percent: number;
}

const FULL_SHA = /^[0-9a-f]{40}$/;
/** "Receiving objects:  45% (123/456), 1.20 MiB | 600.00 KiB/s" — also behind "remote: ". */
const PROGRESS = /^(?:remote: )?([A-Z][A-Za-z ]{2,40}):\s+(\d{1,3})%/;

/**
 * Reads git's --progress output (lines ended by CR while a phase runs, LF when it ends) and
 * tells each change of phase or percent once.
 */
export class ProgressReader {
  private rest = '';
  private last = '';

  constructor(private readonly onProgress: (progress: CloneProgress) => void) {}

  push(text: string): void {
    const parts = (this.rest + text).split(/[\r\n]/);
    this.rest = parts.pop()!.slice(-512);
    for (const part of parts) {
      const match = PROGRESS.exec(part.trim());
      if (!match) continue;
      const progress = { phase: match[1]!.trim(), percent: Math.min(100, Number(match[2])) };
      const key = `${progress.phase}/${progress.percent}`;
      if (key === this.last) continue;
      this.last = key;
      this.onProgress(progress);
    }
  }
}

/**
 * Clones the repository into /workspace/<directory> as the environment's user, at its ref
 * (a branch or tag through --branch; a full commit SHA checked out detached after the clone),
 * and returns the commit HEAD is at. The guest must already be configured for the host
 * (guest-git-config.ts). A directory left by an earlier attempt that failed is removed first,
 * so a start after a failure tries again from nothing; a finished clone is never touched.
 */
export async function cloneRepository(
  guest: GuestExec,
  repository: StoredRepository,
  onProgress: (progress: CloneProgress) => void,
): Promise<{ commit: string }> {
  const user = { user: GUEST_USER, cwd: WORKSPACE, env: { GIT_TERMINAL_PROMPT: '0' } };
  const target = `${WORKSPACE}/${repository.directory}`;
  await mustRunInGuest(guest, 'removing an unfinished clone', { ...user, argv: ['rm', '-rf', '--', target] });
  const ref = repository.ref;
  const byCommit = ref !== null && FULL_SHA.test(ref);
  const branch = ref !== null && !byCommit ? ['--branch', ref] : [];
  const reader = new ProgressReader(onProgress);
  try {
    await mustRunInGuest(
      guest,
      'git clone',
      { ...user, argv: ['git', 'clone', '--progress', ...branch, '--', repository.url, repository.directory] },
      { onStderr: (text) => reader.push(text) },
    );
    if (byCommit)
      await mustRunInGuest(guest, `git checkout ${ref}`, {
        ...user,
        argv: ['git', '-C', target, 'checkout', '--quiet', '--detach', ref],
      });
  } catch (error) {
    // What git said is the reason; the partial directory goes so nothing half-cloned is left.
    await mustRunInGuest(guest, 'removing the failed clone', { ...user, argv: ['rm', '-rf', '--', target] }).catch(
      () => undefined,
    );
    throw error;
  }
  const head = await mustRunInGuest(guest, 'git rev-parse', {
    ...user,
    argv: ['git', '-C', target, 'rev-parse', 'HEAD'],
  });
  const commit = head.stdout.trim();
  if (!FULL_SHA.test(commit)) throw new Error(`git rev-parse HEAD printed "${commit.slice(0, 80)}", not a commit`);
  return { commit };
}
