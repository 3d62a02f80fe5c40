import type { Readable } from 'node:stream';

import type { ExecSpec, GuestProcess } from '../../guest/protocol/exec.js';

/** The part of the guest session (guest/session.ts) the repository's work needs: running programs in the guest. */
export interface GuestExec {
  exec(spec: ExecSpec): GuestProcess;
}

/** What a guest program printed (each stream's last `cap` bytes) and how it ended. */
export interface GuestRun {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

export class GuestCommandError extends Error {
  constructor(
    readonly what: string,
    readonly run: GuestRun,
  ) {
    const said = lastLines(run.stderr) || lastLines(run.stdout);
    const how = run.signal ? `was ended by ${run.signal}` : `exited with ${run.code}`;
    super(`${what} ${how}${said ? `: ${said}` : ''}`);
  }
}

/** git and friends end with the line that says what went wrong: the last few, joined. */
export function lastLines(text: string, count = 4): string {
  return text
    .split(/[\r\n]+/)
    .map((line) => line.trim())
    .filter(Boolean)
    .slice(-count)
    .join(' / ')
    .slice(0, 2000);
}

const DEFAULT_CAP = 64 * 1024;

/**
 * Runs one program in the guest to its end, with `input` on its stdin when given. `onStderr`
 * sees stderr as it comes (progress); what is kept of each stream is bounded.
 */
export async function runInGuest(
  guest: GuestExec,
  spec: Omit<ExecSpec, 'stdin'>,
  o: { input?: string; onStderr?: (text: string) => void; cap?: number } = {},
): Promise<GuestRun> {
  const cap = o.cap ?? DEFAULT_CAP;
  const child = guest.exec({ ...spec, stdin: o.input !== undefined });
  const keep = (stream: Readable, onText?: (text: string) => void) => {
    let kept = '';
    stream.setEncoding('utf8');
    stream.on('data', (text: string) => {
      onText?.(text);
      kept = (kept + text).slice(-cap);
    });
    return new Promise<string>((resolve) => {
      stream.once('end', () => resolve(kept));
      stream.once('close', () => resolve(kept));
      stream.once('error', () => resolve(kept));
    });
  };
  const stdout = keep(child.stdout);
  const stderr = keep(child.stderr, o.onStderr);
  if (child.stdin) child.stdin.end(o.input ?? '');
  const exit = await child.exit;
  return { ...exit, stdout: await stdout, stderr: await stderr };
}

/** Like runInGuest, but a program that fails throws GuestCommandError (naming `what`). */
export async function mustRunInGuest(
  guest: GuestExec,
  what: string,
  spec: Omit<ExecSpec, 'stdin'>,
  o: Parameters<typeof runInGuest>[2] = {},
): Promise<GuestRun> {
  const run = await runInGuest(guest, spec, o);
  if (run.code !== 0) throw new GuestCommandError(what, run);
  return run;
}
