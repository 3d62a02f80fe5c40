import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import type { ErrorBody } from '#protocol';

// ajv-formats is CommonJS; its default export arrives wrapped under ESM interop.
const addFormats = (addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule;

function makeAjv(coerceTypes: boolean): Ajv {
  // removeAdditional: false — unknown fields are an error the caller should hear about,
  // never silently dropped.
  const ajv = new Ajv({ allErrors: true, coerceTypes, removeAdditional: false, useDefaults: false, strict: false });
  addFormats(ajv);
  return ajv;
}

const strictAjv = makeAjv(false);
// Query strings and path parameters are text on the wire; only they may be coerced.
const coercingAjv = makeAjv(true);

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const ajv = httpPart === 'body' ? strictAjv : coercingAjv;
  return ajv.compile(schema as object);
};

export function describeAjvErrors(
  part: string,
  errors: readonly Partial<ErrorObject>[],
): NonNullable<ErrorBody['details']> {
  return errors.map((e) => {
    const extra = e.keyword === 'additionalProperties' ? ` '${String(e.params?.additionalProperty)}'` : '';
    const allowed = e.keyword === 'enum' || e.keyword === 'const' ? ` (${JSON.stringify(e.params)})` : '';
    return { path: `${part}${e.instancePath ?? ''}`, message: `${e.message ?? 'is invalid'}${extra}${allowed}` };
  });
}
