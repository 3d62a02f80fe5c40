import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

/**
 * The dependency rules live in eslint.config.js; these probes prove they still fire, so a rule
 * that silently stops matching (a typo in a glob) fails the build rather than a review.
 */
const eslint = new ESLint({
  cwd: new URL('../..', import.meta.url).pathname,
  // Only the import rules, and no type information: the probes are not files of the project.
  ruleFilter: ({ ruleId }) => ruleId === 'no-restricted-imports',
  overrideConfig: { languageOptions: { parserOptions: { projectService: false, project: null } } },
});

async function violations(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('layer rules', () => {
  it.each([
    [
      'helper/src/environments/probe.ts',
      "import { ApiError } from '../api/api-error.js';\nexport const x = ApiError;\n",
    ],
    [
      'helper/src/vmm/qemu/probe.ts',
      "import { startDaemon } from '../../daemon/daemon.js';\nexport const x = startDaemon;\n",
    ],
    ['helper/src/images/probe.ts', "import { ApiError } from '../api/api-error.js';\nexport const x = ApiError;\n"],
  ])('keeps %s from importing api/ or daemon/', async (file, code) => {
    expect(await violations(file, code)).toEqual([expect.stringContaining('must not import api/ or daemon/')]);
  });

  it('lets the domain use its own errors and api/ use the domain', async () => {
    expect(
      await violations(
        'helper/src/environments/probe.ts',
        "import { DomainError } from '../errors.js';\nexport const x = DomainError;\n",
      ),
    ).toEqual([]);
    expect(
      await violations(
        'helper/src/api/probe.ts',
        "import { DomainError } from '../errors.js';\nexport const x = DomainError;\n",
      ),
    ).toEqual([]);
  });

  it('keeps hearthd out of main and the renderer out of Node', async () => {
    expect(await violations('helper/src/probe.ts', "import 'electron';\n")).not.toEqual([]);
    expect(await violations('renderer/src/probe.ts', "import 'node:fs';\n")).not.toEqual([]);
    expect(await violations('main/src/probe.ts', "import '../../helper/src/log.js';\n")).not.toEqual([]);
  });
});
