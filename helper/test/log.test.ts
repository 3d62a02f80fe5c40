import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/log.js';

describe('hearthd logs', () => {
  it('never write credentials, wherever they sit in a logged object', () => {
    const lines: string[] = [];
    const log = createLogger('info', { write: (line: string) => lines.push(line) });
    log.info({ repo: { url: 'https://example.invalid/r.git', token: 'ghp_secret1' } }, 'clone');
    log.info({ credentials: { password: 'hunter2' }, account: { privateKey: '-----BEGIN KEY-----' } }, 'add');
    log.info({ req: { headers: { authorization: 'Bearer abc.def' } } }, 'request');
    const text = lines.join('');
    for (const secret of ['ghp_secret1', 'hunter2', 'BEGIN KEY', 'abc.def']) expect(text).not.toContain(secret);
    expect(text).toContain('https://example.invalid/r.git');
    expect(text.match(/\[redacted\]/g)?.length).toBe(4);
  });
});
