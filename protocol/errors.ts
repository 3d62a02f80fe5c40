import { Type, type Static } from '@sinclair/typebox';
import { OneOf } from './schemas/common.js';

/**
 * Every error hearthd returns has this body. `code` is for programs (stable, kebab-case);
 * `message` is for people and says what to do about it.
 */
export const ErrorCode = OneOf([
  'invalid-request',
  'invalid-json',
  'unsupported-media-type',
  'payload-too-large',
  'not-found',
  'method-not-allowed',
  'forbidden',
  'conflict',
  'unprocessable',
  'too-many-requests',
  'unavailable',
  'internal',
]);
export type ErrorCode = Static<typeof ErrorCode>;

export const ErrorBody = Type.Object(
  {
    code: ErrorCode,
    message: Type.String(),
    hint: Type.Optional(Type.String({ description: 'What to do about it' })),
    details: Type.Optional(
      Type.Array(Type.Object({ path: Type.String(), message: Type.String() }, { additionalProperties: false })),
    ),
  },
  { additionalProperties: false },
);
export type ErrorBody = Static<typeof ErrorBody>;
