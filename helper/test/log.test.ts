import { describe, expect, it } from 'vitest';
import { createLogger, redactDeep } from '../src/log.js';

function capture() {
  const lines: string[] = [];
  const log = createLogger('info', { write: (line: string) => lines.push(line) });
  return { log, lines, text: () => lines.join('') };
}

describe('hearthd logs', () => {
  it('never write credentials, wherever they sit in a logged object', () => {
    const { log, text } = capture();
    log.info({ repo: { url: 'https://example.invalid/r.git', token: 'ghp_secret1' } }, 'clone');
    log.info({ credentials: { password: 'hunter2' }, account: { privateKey: '-----BEGIN KEY-----' } }, 'add');
    log.info({ req: { headers: { authorization: 'Bearer abc.def' } } }, 'request');
    for (const secret of ['ghp_secret1', 'hunter2', 'BEGIN KEY', 'abc.def']) expect(text()).not.toContain(secret);
    expect(text()).toContain('https://example.invalid/r.git');
    expect(text().match(/\[redacted\]/g)?.length).toBe(4);
  });

  it('redacts at any depth and inside arrays, by key name in any spelling', () => {
    const { log, lines } = capture();
    log.info(
      {
        a: { b: { c: { d: { e: { token: 'deep-1' } } } } },
        accounts: [{ host: 'github.com', password: 'deep-2' }, [{ nested: { secret: 'deep-3' } }]],
        request: { headers: { Authorization: 'Bearer deep-4', Cookie: 'sid=deep-5', 'x-api-key': 'deep-6' } },
        githubToken: 'deep-7',
        client_secret: 'deep-8',
        ssh: { private_key: 'deep-9', passphrase: 'deep-10' },
        tokenCount: 3,
      },
      'nested',
    );
    const entry = JSON.parse(lines[0]!) as Record<string, unknown>;
    for (let i = 1; i <= 10; i += 1) expect(lines[0]).not.toContain(`deep-${i}`);
    expect(entry).toMatchObject({
      a: { b: { c: { d: { e: { token: '[redacted]' } } } } },
      accounts: [{ host: 'github.com', password: '[redacted]' }, [{ nested: { secret: '[redacted]' } }]],
      tokenCount: 3,
      msg: 'nested',
      name: 'hearthd',
    });
  });

  it('redacts child bindings and errors as they are serialized', () => {
    const { log, text } = capture();
    const child = log.child({ session: { token: 'bound-1' } });
    const error = Object.assign(new Error('clone failed'), { options: { headers: { authorization: 'err-2' } } });
    child.error({ err: error }, 'failed');
    expect(text()).not.toContain('bound-1');
    expect(text()).not.toContain('err-2');
    expect(text()).toContain('clone failed');
  });

  it('copes with values that are not objects', () => {
    expect(redactDeep([1, 'a', null, { password: 'p' }])).toEqual([1, 'a', null, { password: '[redacted]' }]);
  });
});
