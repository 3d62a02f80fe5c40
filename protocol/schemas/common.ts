import { Type, type SchemaOptions, type TLiteral, type TUnion } from '@sinclair/typebox';

/** RFC 3339 timestamp, always UTC. */
export const Timestamp = Type.String({ format: 'date-time' });

export const Bytes = Type.Integer({ minimum: 0, description: 'A size in bytes' });

type Literals<T extends string[]> = { [K in keyof T]: TLiteral<T[K]> };

/** A closed set of strings, as a union of literals (checked by ajv and TypeBox alike). */
export const OneOf = <const T extends [string, ...string[]]>(values: T, options?: SchemaOptions): TUnion<Literals<T>> =>
  Type.Union(values.map((v) => Type.Literal(v)) as unknown as Literals<T>, options) as TUnion<Literals<T>>;
