import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/**
 * One request to hearthd as another user: `uid` (with exactly `groups`, or none), through curl over
 * the real socket, so hearthd names the caller from the kernel as it would any client.
 */
export async function requestAs(
  socket: string,
  uid: number,
  method: string,
  path: string,
  body?: unknown,
  groups: number[] = [],
): Promise<Answer> {
  const { stdout } = await run(
    'setpriv',
    [
      `--reuid=${uid}`,
      `--regid=${uid}`,
      groups.length ? `--groups=${groups.join(',')}` : '--clear-groups',
      '--',
      'curl',
      '-s',
      '--unix-socket',
      socket,
      '-X',
      method,
      ...(body === undefined ? [] : ['-H', 'content-type: application/json', '-d', JSON.stringify(body)]),
      '-w',
      '\n%{http_code}',
      `http://hearthd${path}`,
    ],
    { encoding: 'utf8', timeout: 20_000 },
  );
  const lines = stdout.trimEnd().split('\n');
  const status = Number(lines.pop());
  return { status, body: JSON.parse(lines.join('\n') || '{}') as Record<string, unknown> };
}
