import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hearth } from './support/hearth-cli.js';

const README = join(import.meta.dirname, '..', '..', 'README.md');
const MARKER = '<!-- hearth --help:';

/** The README's block right after the marker: what it tells a reader `hearth --help` prints. */
async function documentedHelp(): Promise<string> {
  const text = await readFile(README, 'utf8');
  const after = text.slice(text.indexOf(MARKER));
  const block = /```text\n([\s\S]*?)\n```/.exec(after);
  if (!text.includes(MARKER) || block === null) throw new Error(`README.md has no \`\`\`text block after ${MARKER}`);
  return block[1]!;
}

describe('hearth --help', () => {
  it('is what the README says it prints', async () => {
    const help = await hearth(null, ['--help']);
    expect(help.exitCode).toBe(0);
    expect(help.stdout.trimEnd()).toBe(await documentedHelp());
  });

  it('every verb has its own help with examples, and exits 0', async () => {
    const verbs = (await documentedHelp())
      .split('\n')
      .map((line) => /^ {2}([a-z][a-z-]*)/.exec(line)?.[1])
      .filter((verb): verb is string => verb !== undefined && verb !== 'help');
    expect(verbs).toContain('create');
    for (const verb of verbs) {
      const help = await hearth(null, [verb, '--help']);
      expect(help.exitCode, verb).toBe(0);
      expect(help.stdout, verb).toContain(`Usage: hearth ${verb}`);
      expect(help.stdout, verb).toContain('Examples:\n  $ hearth');
    }
  });
});
