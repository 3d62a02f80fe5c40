import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { TSchema } from '@sinclair/typebox';

const addFormats = (addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule;
const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
const cache = new WeakMap<TSchema, ValidateFunction>();

/** Asserts `value` matches `schema` (with formats), failing with ajv's explanation. */
export function assertMatches(schema: TSchema, value: unknown): void {
  let validate = cache.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    cache.set(schema, validate);
  }
  if (!validate(value)) {
    throw new Error(`does not match schema: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(value, null, 2)}`);
  }
}
