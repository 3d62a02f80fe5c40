import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** The summary lists each skipped test with its reason just above the totals line. */
const REPO = resolve(import.meta.dirname, '..', '..');
const FIXTURE = join(REPO, 'helper/test/fixtures/reporter/skips.fixture.ts');
const VITEST = join(REPO, 'node_modules/vitest/vitest.mjs');

describe('the summary reporter', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hearth-reporter-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lists every skip with its reason above "tests: N passed, N failed, N skipped"', async () => {
    const config = join(dir, 'vitest.config.mjs');
    await writeFile(
      config,
      `export default { root: ${JSON.stringify(REPO)}, test: { include: [${JSON.stringify(FIXTURE)}], ` +
        `reporters: [${JSON.stringify(join(REPO, 'scripts/summary-reporter.ts'))}] } };\n`,
    );
    const out = execFileSync(process.execPath, [VITEST, 'run', '--config', config], {
      cwd: REPO,
      encoding: 'utf8',
      env: { ...process.env, CI: '1' },
    });
    const tail = out.slice(out.indexOf('\nskipped:\n'));
    expect(tail).toBe(
      [
        '',
        'skipped:',
        '  helper/test/fixtures/reporter/skips.fixture.ts: decided while running',
        '  2 tests in helper/test/fixtures/reporter/skips.fixture.ts: the fixture says it cannot',
        '',
        'tests: 1 passed, 0 failed, 3 skipped',
        '',
      ].join('\n'),
    );
  }, 60_000);
});
