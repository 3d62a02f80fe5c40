import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { Static, TSchema } from '@sinclair/typebox';

// ajv-formats is CommonJS; its default export arrives wrapped under ESM interop.
const addFormats = (addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule;

const ajv = new Ajv({
  allErrors: true,
  coerceTypes: false,
  removeAdditional: false,
  useDefaults: false,
  strict: false,
});
addFormats(ajv);

/** A validator for what hearthd reads back from its own files (formats checked, nothing coerced). */
export function compileValidator<S extends TSchema>(schema: S): (value: unknown) => value is Static<S> {
  return ajv.compile<Static<S>>(schema);
}
