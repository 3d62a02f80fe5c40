import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { endpoints } from '#protocol';
import { contractRoutesOnly, routesModule } from '../contract-routes.js';

const REPO = join(import.meta.dirname, '..', '..');

describe("the hearth bundle's contract: routes without schemas", () => {
  it('keeps every endpoint with its method, path and plain fields; a schema field throws', async () => {
    const url = `data:text/javascript;base64,${Buffer.from(routesModule()).toString('base64')}`;
    const routes = (await import(url)) as { endpoints: Record<string, Record<string, unknown>> };
    expect(Object.keys(routes.endpoints)).toEqual(Object.keys(endpoints));
    for (const [name, endpoint] of Object.entries(endpoints)) {
      const route = routes.endpoints[name]!;
      expect(Object.keys(route).sort(), name).toEqual(Object.keys(endpoint).sort());
      for (const [field, value] of Object.entries(endpoint)) {
        if (typeof value === 'object') expect(() => route[field], `${name}.${field}`).toThrow(/not its schemas/);
        else expect(route[field], `${name}.${field}`).toBe(value);
      }
    }
  });

  it('leaves TypeBox out of the command, whose every start would build the schemas', async () => {
    const result = await build({
      absWorkingDir: REPO,
      entryPoints: ['cli/src/main.ts'],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      write: false,
      metafile: true,
      logLevel: 'silent',
      outfile: 'hearth.cjs',
      plugins: [contractRoutesOnly()],
    });
    // What made it into the bundle (metafile.inputs also lists what was read and then dropped).
    const output = Object.values(result.metafile.outputs)[0]!;
    const inputs = Object.entries(output.inputs)
      .filter(([, { bytesInOutput }]) => bytesInOutput > 0)
      .map(([input]) => input);
    expect(inputs.some((input) => input.startsWith('cli/src/'))).toBe(true);
    // A command that needs a schema at run time imports it by name, which brings TypeBox back:
    // weigh that with `npm run bench:cli` before changing this.
    expect(
      inputs.filter((input) => input.includes('@sinclair/typebox') || input.startsWith('protocol/schemas/')),
    ).toEqual([]);
  });
});
