import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * A clone must pass with nothing beside it: no code, test, script or bench reads `../shared` (where
 * CI keeps material that is not the project's) at run time. The one exception compares the
 * project's Cloud Hypervisor API description with CH's official document, and skips without it.
 */

const REPO = resolve(import.meta.dirname, '..', '..');
const SCANNED = ['helper', 'main', 'renderer', 'e2e', 'scripts', 'bench', 'protocol', '.ci'];
const ALLOWED = new Set([
  'helper/test/cloud-hypervisor-api-description.test.ts',
  'helper/test/no-shared-reads.test.ts',
]);
/** `../shared`, or `'..', 'shared'` as path segments. */
const READS_SHARED = [/\.\.[/\\]shared\b/, /['"`]\.\.['"`]\s*,\s*['"`]shared['"`]/];

function* files(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else if (entry.isFile()) yield path;
  }
}

describe('the project stands alone', () => {
  it('reads nothing from ../shared outside the one test that compares the CH API description', () => {
    const offenders: string[] = [];
    let scanned = 0;
    for (const top of SCANNED) {
      for (const path of files(join(REPO, top))) {
        const name = relative(REPO, path);
        if (ALLOWED.has(name)) continue;
        const text = readFileSync(path, 'utf8');
        scanned += 1;
        text.split('\n').forEach((line, i) => {
          if (READS_SHARED.some((pattern) => pattern.test(line))) offenders.push(`${name}:${i + 1}: ${line.trim()}`);
        });
      }
    }
    expect(scanned).toBeGreaterThan(100);
    expect(offenders).toEqual([]);
  });

  it('recognises the ways a path to ../shared is written', () => {
    const lines = [
      "resolve(REPO, '..', 'shared', 'specs')",
      '`<repo>/../shared/specs/x.yaml`',
      'join(root, \'..\', "shared")',
    ];
    expect(lines.map((line) => READS_SHARED.some((p) => p.test(line)))).toEqual([true, true, true]);
    expect(READS_SHARED.some((p) => p.test("const toggles = ['mergeable', 'shared'];"))).toBe(false);
  });
});
