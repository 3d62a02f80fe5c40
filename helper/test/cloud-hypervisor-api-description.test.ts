import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_SPEC_PATH } from './doubles/cloud-hypervisor/spec.js';
import { compareWithOfficial, type OpenApiDocument } from './support/openapi-subset.js';

/**
 * The project's description of Cloud Hypervisor's API (the double and every test validate against
 * it) must say nothing CH's official document does not: every path and method, every property with
 * a compatible type, the same required fields. The official document is not part of the project;
 * CI keeps it beside the clone (`<repo>/../shared/specs/`). This is the one test that reads it, and
 * it skips, saying why, where it is absent.
 */

const REPO = resolve(import.meta.dirname, '..', '..');

/** Where CI keeps CH's official document, beside the clone. */
const OFFICIAL_DIR = resolve(REPO, '..', 'shared', 'specs');

function officialSpec(): { path: string; doc: OpenApiDocument } | string {
  if (!existsSync(OFFICIAL_DIR)) return `CH's official API document is not beside this clone (${OFFICIAL_DIR})`;
  const file = readdirSync(OFFICIAL_DIR).find((name) => /^cloud-hypervisor-.*\.ya?ml$/.test(name));
  if (file === undefined) return `${OFFICIAL_DIR} holds no cloud-hypervisor-*.yaml`;
  const path = join(OFFICIAL_DIR, file);
  return { path, doc: parseYaml(readFileSync(path, 'utf8')) as OpenApiDocument };
}

const ours = parseYaml(readFileSync(DEFAULT_SPEC_PATH, 'utf8')) as OpenApiDocument;

describe("the project's Cloud Hypervisor API description", () => {
  it('describes the endpoints and bodies hearthd sends', () => {
    // What ch-api.ts calls; the driver tests prove each request matches the description.
    expect(Object.keys(ours.paths).sort()).toEqual([
      '/vm.boot',
      '/vm.create',
      '/vm.info',
      '/vm.power-button',
      '/vm.shutdown',
      '/vmm.ping',
      '/vmm.shutdown',
    ]);
    expect(Object.keys(ours.components.schemas.VmConfig?.properties ?? {}).sort()).toEqual([
      'console',
      'cpus',
      'disks',
      'memory',
      'net',
      'payload',
      'serial',
      'vsock',
    ]);
  });

  it('agrees with the official document: paths, methods, properties, types, required fields', (ctx) => {
    const official = officialSpec();
    if (typeof official === 'string') return ctx.skip(official);
    console.log(`checked against ${official.path}`);
    expect(compareWithOfficial(ours, official.doc)).toEqual([]);
  });

  it('would notice a property, a type, a required field or an endpoint the official document lacks', () => {
    // The comparison itself, on a small official document, so the check above can fail.
    const officialDoc: OpenApiDocument = {
      paths: { '/vm.boot': { put: { responses: { 204: {} } } } },
      components: {
        schemas: {
          Cfg: { type: 'object', required: ['a'], properties: { a: { type: 'integer', format: 'int64' } } },
          Mode: { type: 'string', enum: ['On', 'Off'] },
        },
      },
    };
    const drifted: OpenApiDocument = {
      paths: {
        '/vm.boot': { get: { responses: { 200: {} } }, put: { responses: { 204: {}, 500: {} } } },
        '/vm.nmi': { put: { responses: { 204: {} } } },
      },
      components: {
        schemas: {
          Cfg: { type: 'object', required: ['b'], properties: { a: { type: 'string' }, b: { type: 'boolean' } } },
          Mode: { type: 'string', enum: ['On', 'Sleep'] },
          Extra: { type: 'object' },
        },
      },
    };
    expect(compareWithOfficial(drifted, officialDoc)).toEqual([
      'GET /vm.boot: not in the official document',
      'PUT /vm.boot: status 500 not in the official document',
      'PUT /vm.nmi: not in the official document',
      'Cfg.a: type "string", officially "integer"',
      'Cfg.a: format none, officially "int64"',
      'Cfg.b: not in the official document',
      'Cfg: required [b], officially [a]',
      'Mode: enum value Sleep not in the official document',
      'schema Extra: not in the official document',
    ]);
    expect(compareWithOfficial(officialDoc, officialDoc)).toEqual([]);
  });
});
