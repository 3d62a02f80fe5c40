import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually } from '../../helper/test/support/eventually.js';

/** `npm run dev:web` as a developer runs it: the token never reaches the terminal. */
describe('dev:web', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('writes the tokened URL to a private file and prints only the origin', async () => {
    const runtime = await mkdtemp(join(tmpdir(), 'hearth-devweb-'));
    dirs.push(runtime);
    const repo = join(import.meta.dirname, '..', '..');
    const child = spawn(
      join(repo, 'node_modules', '.bin', 'tsx'),
      [join(repo, 'main/src/web/dev-web.ts'), '--socket', join(runtime, 'none.sock')],
      { env: { ...process.env, XDG_RUNTIME_DIR: runtime }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    try {
      await eventually(() => output.includes('dev-web.url'), {
        what: 'dev-web to print its URL file',
        timeoutMs: 10_000,
        context: () => output,
      });
      const file = join(runtime, 'hearth', 'dev-web.url');
      const url = (await readFile(file, 'utf8')).trim();
      const token = /#hearth-token=([\w-]{40,})$/.exec(url)?.[1];
      expect(token, url).toBeDefined();
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect(output).toContain(new URL(url).origin);
      expect(output).not.toContain(token);
      expect(new URL(url).hostname).toBe('127.0.0.1');
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });
});
