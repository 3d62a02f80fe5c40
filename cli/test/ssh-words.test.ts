import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shellWord } from '../src/commands/ssh.js';

describe("hearth ssh's remote command", () => {
  it('reaches a real POSIX shell word for word, whatever the words hold', () => {
    const words = ["it's", 'a b', '$HOME', '`id`', '"q"', '', 'x;y', '\\n', 'ünï'];
    const line = words.map(shellWord).join(' ');
    const echoed = execFileSync('sh', ['-c', `for w in ${line}; do printf '[%s]' "$w"; done`], { encoding: 'utf8' });
    expect(echoed).toBe(words.map((w) => `[${w}]`).join(''));
  });
});
