import type { Readable, Writable } from 'node:stream';
import { Type, type Static } from '@sinclair/typebox';
import { DomainError } from '../../errors.js';
import type { ExitStatus } from './frames.js';
import type { ChannelStream } from './streams.js';

/**
 * An exec stream's params (what hearthd sends in its `open`). The agent checks them again: it
 * runs only as root or the environment's user, with an environment that starts empty.
 */
export const ExecParams = Type.Object(
  {
    argv: Type.Array(Type.String({ minLength: 1, maxLength: 4096, pattern: '^[^\\x00]*$' }), {
      minItems: 1,
      maxItems: 256,
    }),
    user: Type.String({ pattern: '^[a-z_][a-z0-9_-]{0,31}$' }),
    cwd: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, pattern: '^/[^\\x00]*$' })),
    env: Type.Optional(
      Type.Record(
        Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,127}$' }),
        Type.String({ maxLength: 8192, pattern: '^[^\\x00]*$' }),
      ),
    ),
    stdin: Type.Boolean(),
  },
  { additionalProperties: false },
);
export type ExecParams = Static<typeof ExecParams>;

export interface ExecSpec {
  argv: string[];
  /** `root` or the environment's user (account.ts GUEST_USER); the agent refuses any other. */
  user: string;
  /** Default: the user's home directory. */
  cwd?: string;
  /** Added to the clean environment the agent starts with (HOME, USER, LOGNAME, PATH, LANG of that user). */
  env?: Record<string, string>;
  /** Whether the process gets a stdin from hearthd (else /dev/null). */
  stdin?: boolean;
}

/** A process running in the guest, over one exec stream. */
export interface GuestProcess {
  stdout: Readable;
  stderr: Readable;
  /** null unless the spec asked for stdin; end() closes the process's stdin. */
  stdin: Writable | null;
  /** How it ended; rejects when the guest could not start it, or the channel was lost before the end. */
  exit: Promise<{ code: number | null; signal: string | null }>;
  /** SIGKILL to its process group (it still ends through `exit`). */
  kill(): void;
}

/** The exit of an exec stream: its close frame's `exit`, or why there is none. */
export function processOf(stream: ChannelStream, spec: ExecSpec, signal: (name: string) => void): GuestProcess {
  const stderr = stream.stderr;
  if (!stderr) throw new Error('an exec stream carries stderr');
  const program = spec.argv[0] ?? '';
  const exit = stream.ended.then((how): ExitStatus => {
    if (!(how instanceof Error) && how.exit) return how.exit;
    const why = how instanceof Error ? how.message : (how.error ?? 'it closed the stream without an exit status');
    throw new DomainError('failed', `the guest could not run ${program} to its end: ${why}`);
  });
  // The caller may await only some of it; an unobserved rejection must not end hearthd.
  exit.catch(() => undefined);
  if (!spec.stdin) stream.end();
  return {
    stdout: stream,
    stderr,
    stdin: spec.stdin ? stream : null,
    exit,
    kill: () => signal('KILL'),
  };
}
