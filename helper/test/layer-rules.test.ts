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

/** Everything environments/ stands on; the layers above it add themselves. */
const BELOW_ENVIRONMENTS = [
  'system',
  'settings',
  'events',
  'network',
  'vmm',
  'guest',
  'images',
  'readiness',
  'repositories',
];
/**
 * hearthd's layers as this test expects them, written out again on purpose (not read from the
 * config): the config must implement this order, and a change to either shows here.
 */
const BELOW: Record<string, string[]> = {
  system: [],
  settings: ['system'],
  events: ['system'],
  network: ['system', 'settings', 'events'],
  vmm: ['system', 'settings', 'events'],
  guest: ['system', 'settings', 'events', 'vmm'],
  images: ['system', 'settings', 'events', 'vmm', 'guest'],
  readiness: ['system', 'settings', 'events', 'network', 'vmm', 'guest', 'images'],
  repositories: ['system', 'settings', 'events', 'vmm', 'guest'],
  environments: BELOW_ENVIRONMENTS,
  api: [...BELOW_ENVIRONMENTS, 'environments'],
  daemon: [...BELOW_ENVIRONMENTS, 'environments', 'api'],
};
const FOLDERS = Object.keys(BELOW);
const probe = (target: string, depth: number) =>
  `import { thing } from '${'../'.repeat(depth)}${target}/thing.js';\nexport const x = thing;\n`;
const pairs = FOLDERS.flatMap((from) => FOLDERS.filter((to) => to !== from).map((to) => [from, to] as const));

describe('layer rules', () => {
  it.each(pairs.filter(([from, to]) => !BELOW[from]!.includes(to)))(
    'keeps %s/ from importing %s/ (not below it)',
    async (from, to) => {
      // From the folder itself and from a subfolder of it: both must be caught.
      expect(await violations(`helper/src/${from}/probe.ts`, probe(to, 1))).toEqual([
        expect.stringContaining(`helper/src/${from}/ may import only`),
      ]);
      expect(await violations(`helper/src/${from}/sub/probe.ts`, probe(to, 2))).toEqual([
        expect.stringContaining(`helper/src/${from}/ may import only`),
      ]);
    },
  );

  it.each(pairs.filter(([from, to]) => BELOW[from]!.includes(to)))(
    'lets %s/ import %s/ (below it)',
    async (from, to) => {
      expect(await violations(`helper/src/${from}/probe.ts`, probe(to, 1))).toEqual([]);
      expect(await violations(`helper/src/${from}/sub/probe.ts`, probe(to, 2))).toEqual([]);
    },
  );

  it.each(FOLDERS)('lets %s/ use its own files and the foundation in helper/src', async (folder) => {
    const code =
      "import { DomainError } from '../errors.js';\nimport { near } from './near.js';\n" +
      "import { deep } from './sub/deep.js';\nexport const x = [DomainError, near, deep];\n";
    expect(await violations(`helper/src/${folder}/probe.ts`, code)).toEqual([]);
  });

  it('keeps the foundation files from importing any folder, and lets the entry import all', async () => {
    expect(await violations('helper/src/probe.ts', probe('system', 0).replace("'", "'./"))).toEqual([
      expect.stringContaining('import no folder'),
    ]);
    expect(await violations('helper/src/probe.ts', "import { a } from './log.js';\nexport const x = a;\n")).toEqual([]);
    expect(
      await violations('helper/src/main.ts', "import { a } from './daemon/daemon.js';\nexport const x = a;\n"),
    ).toEqual([]);
  });

  it('keeps the domain from importing api/ or daemon/, by name too', async () => {
    for (const file of [
      'helper/src/environments/probe.ts',
      'helper/src/vmm/qemu/probe.ts',
      'helper/src/images/probe.ts',
    ]) {
      const depth = file.split('/').length - 3;
      expect(await violations(file, probe('api', depth))).not.toEqual([]);
      expect(await violations(file, probe('daemon', depth))).not.toEqual([]);
    }
  });

  it('keeps hearthd out of main and the renderer out of Node', async () => {
    expect(await violations('helper/src/probe.ts', "import 'electron';\n")).not.toEqual([]);
    expect(await violations('renderer/src/probe.ts', "import 'node:fs';\n")).not.toEqual([]);
    expect(await violations('main/src/probe.ts', "import '../../helper/src/log.js';\n")).not.toEqual([]);
  });
});
