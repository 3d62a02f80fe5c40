import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { parse as parseYaml } from 'yaml';

/**
 * The description of Cloud Hypervisor's API that Hearth's driver is held to (OpenAPI 3.0.1,
 * `cloud-hypervisor-api.yaml` beside this file: the endpoints and bodies hearthd uses, written from
 * CH's official v53.0 document), turned into request and response validators. Every request a
 * driver sends is checked against it, and the double's own answers are checked against it in tests.
 */

const here = dirname(fileURLToPath(import.meta.url));

/** Lives in the project, so a clone with nothing beside it validates against the same contract. */
export const DEFAULT_SPEC_PATH = resolve(here, 'cloud-hypervisor-api.yaml');

/** CH's `servers[0].url` path: every endpoint lives under it. */
export const API_ROOT = '/api/v1';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export interface Operation {
  /** `vm.boot`, `vmm.ping`, … (the path without its slash, as CH's docs name actions). */
  action: string;
  method: 'GET' | 'PUT';
  /** Name of the requestBody schema in components/schemas, if the operation takes a body. */
  requestSchema: string | undefined;
  bodyRequired: boolean;
  /** Response schema names by status code, for statuses whose response has a JSON body. */
  responseSchemas: Map<number, string>;
  statuses: Set<number>;
}

export interface ValidationResult {
  valid: boolean;
  /** Violations of the spec: the request is rejected with 400. */
  errors: string[];
  /**
   * Properties the spec does not define. The spec allows them (OpenAPI's default), and CH's serde
   * ignores them silently, which hides typos such as `backing_file` for `backing_files`.
   */
  warnings: string[];
}

/**
 * OpenAPI 3.0 schema objects are not JSON Schema: `nullable` must become a `null` type, and
 * annotations ajv does not know (`example`, `deprecated`, …) are dropped so ajv can run strict.
 * `additionalPropertiesFalse` produces the "no unknown properties" variant used for warnings.
 */
export function toJsonSchema(schema: Json, additionalPropertiesFalse = false): Json {
  if (Array.isArray(schema)) return schema.map((item) => toJsonSchema(item, additionalPropertiesFalse));
  if (schema === null || typeof schema !== 'object') return schema;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(schema)) {
    if (['nullable', 'example', 'deprecated', 'xml', 'externalDocs', 'discriminator'].includes(key)) continue;
    if (key === '$ref' && typeof value === 'string') {
      // JSON Schema keeps shared schemas in `definitions`; OpenAPI keeps them in components/schemas.
      out[key] = value.replace('#/components/schemas/', '#/definitions/');
    } else if (key === 'properties' && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      // Property names are data, not keywords: convert each property's schema, keep the names.
      out[key] = Object.fromEntries(
        Object.entries(value).map(([name, sub]) => [name, toJsonSchema(sub, additionalPropertiesFalse)]),
      );
    } else {
      out[key] = toJsonSchema(value, additionalPropertiesFalse);
    }
  }
  if (schema.nullable === true) {
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
    else if (out.$ref !== undefined || out.allOf !== undefined || out.oneOf !== undefined)
      return { anyOf: [out, { type: 'null' }] };
    if (Array.isArray(out.enum)) out.enum = [...out.enum, null];
  }
  if (additionalPropertiesFalse && out.properties !== undefined && out.additionalProperties === undefined) {
    out.additionalProperties = false;
  }
  return out;
}

/** OpenAPI integer formats, checked as CH's Rust integer types would be (serde rejects overflow). */
const INTEGER_FORMATS: Record<string, [number, number]> = {
  int8: [-(2 ** 7), 2 ** 7 - 1],
  int16: [-(2 ** 15), 2 ** 15 - 1],
  int32: [-(2 ** 31), 2 ** 31 - 1],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint8: [0, 2 ** 8 - 1],
  uint16: [0, 2 ** 16 - 1],
  uint32: [0, 2 ** 32 - 1],
};

function makeAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false });
  for (const [name, [min, max]] of Object.entries(INTEGER_FORMATS)) {
    ajv.addFormat(name, { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= min && n <= max });
  }
  return ajv;
}

function describe(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => {
    const at = e.instancePath === '' ? '(body)' : e.instancePath.slice(1).replaceAll('/', '.');
    if (e.keyword === 'additionalProperties') {
      const extra = (e.params as { additionalProperty: string }).additionalProperty;
      return `${at === '(body)' ? '' : `${at}.`}${extra}: not defined by the spec`;
    }
    return `${at}: ${e.message ?? e.keyword}`;
  });
}

export class ChSpec {
  readonly operations = new Map<string, Operation[]>();
  private readonly ajv = makeAjv();
  private readonly strictAjv = makeAjv();

  constructor(readonly path: string = DEFAULT_SPEC_PATH) {
    const doc = parseYaml(readFileSync(path, 'utf8')) as JsonObject;
    if (typeof doc.openapi !== 'string' || !doc.openapi.startsWith('3.0')) {
      throw new Error(`${path}: expected an OpenAPI 3.0 document`);
    }
    const schemas = ((doc.components as JsonObject).schemas ?? {}) as JsonObject;
    // One schema document per ajv instance, so the rewritten `#/definitions/X` refs resolve inside it.
    this.ajv.addSchema({ $id: 'ch', definitions: toJsonSchema(schemas) });
    this.strictAjv.addSchema({ $id: 'ch', definitions: toJsonSchema(schemas, true) });

    for (const [path, item] of Object.entries(doc.paths as JsonObject)) {
      for (const [method, raw] of Object.entries(item as JsonObject)) {
        const op = raw as JsonObject;
        const body = op.requestBody as JsonObject | undefined;
        const responseSchemas = new Map<number, string>();
        const statuses = new Set<number>();
        for (const [status, response] of Object.entries((op.responses ?? {}) as JsonObject)) {
          statuses.add(Number(status));
          const ref = schemaRef((response as JsonObject).content);
          if (ref !== undefined) responseSchemas.set(Number(status), ref);
        }
        const action = path.replace(/^\//, '');
        const list = this.operations.get(action) ?? [];
        list.push({
          action,
          method: method.toUpperCase() as 'GET' | 'PUT',
          requestSchema: body === undefined ? undefined : schemaRef(body.content),
          bodyRequired: body?.required === true,
          responseSchemas,
          statuses,
        });
        this.operations.set(action, list);
      }
    }
  }

  operation(action: string, method: string): Operation | undefined {
    return this.operations.get(action)?.find((op) => op.method === method);
  }

  /** Validates `value` against `components/schemas/<name>`. */
  validateSchema(name: string, value: unknown): ValidationResult {
    const validate = this.validator(this.ajv, name);
    const valid = validate(value);
    const errors = valid ? [] : describe(validate.errors);
    const strict = this.validator(this.strictAjv, name);
    const warnings = strict(value) ? [] : describe(strict.errors?.filter((e) => e.keyword === 'additionalProperties'));
    return { valid, errors, warnings };
  }

  /** Checks an answer against the response the spec documents for that status. */
  validateResponse(action: string, method: string, status: number, body: unknown): ValidationResult {
    const op = this.operation(action, method);
    if (op === undefined) return { valid: false, errors: [`no operation ${method} /${action}`], warnings: [] };
    const schema = op.responseSchemas.get(status);
    if (schema === undefined) {
      return op.statuses.has(status)
        ? { valid: true, errors: [], warnings: [] }
        : { valid: false, errors: [`status ${status} is not documented for ${method} /${action}`], warnings: [] };
    }
    return this.validateSchema(schema, body);
  }

  private validator(ajv: Ajv, name: string): ValidateFunction {
    const validate = ajv.getSchema(`ch#/definitions/${name}`);
    if (validate === undefined) throw new Error(`the spec has no schema ${name}`);
    return validate;
  }
}

function schemaRef(content: Json | undefined): string | undefined {
  const media = (content as JsonObject | undefined)?.['application/json'] as JsonObject | undefined;
  const ref = (media?.schema as JsonObject | undefined)?.$ref;
  if (typeof ref !== 'string') return undefined;
  return ref.replace('#/components/schemas/', '');
}
