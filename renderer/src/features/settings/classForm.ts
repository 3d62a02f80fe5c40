import { Value } from '@sinclair/typebox/value';
import { ClassBody, ClassName } from '#protocol';
import { HearthCallError } from '../../hearth.js';

export type ClassField = 'name' | 'description' | 'cpus' | 'memoryMiB' | 'diskGiB';
export const CLASS_FIELDS: readonly ClassField[] = ['name', 'description', 'cpus', 'memoryMiB', 'diskGiB'];

/** What the user typed: numbers stay text until checked, so "2.5" or "" can be named as wrong. */
export type ClassDraft = Record<ClassField, string>;

export interface ClassErrors {
  fields: Partial<Record<ClassField, string>>;
  /** What concerns no one field (in use, forbidden, offline), with hearthd's hint. */
  form: { message: string; hint?: string } | null;
}

const limits = (field: 'cpus' | 'memoryMiB' | 'diskGiB') => {
  const schema = ClassBody.properties[field] as { minimum: number; maximum: number };
  return `${schema.minimum} to ${schema.maximum}`;
};

/** The rule, said once per field from the same schema hearthd validates with (not its wording). */
const RULE: Record<ClassField, string> = {
  name: `Use lower-case letters, digits and hyphens, starting with a letter (at most ${ClassName.maxLength ?? 32} characters).`,
  description: `At most ${(ClassBody.properties.description as { maxLength: number }).maxLength} characters.`,
  cpus: `A whole number of CPUs, ${limits('cpus')}.`,
  memoryMiB: `A whole number of MiB, ${limits('memoryMiB')}.`,
  diskGiB: `A whole number of GiB, ${limits('diskGiB')}.`,
};

const toNumber = (text: string): number | string => (/^\s*-?\d+(\.\d+)?\s*$/.test(text) ? Number(text) : text);

export function draftOf(cls?: { name: string; description: string; cpus: number; memoryMiB: number; diskGiB: number }) {
  return {
    name: cls?.name ?? '',
    description: cls?.description ?? '',
    cpus: cls ? String(cls.cpus) : '2',
    memoryMiB: cls ? String(cls.memoryMiB) : '4096',
    diskGiB: cls ? String(cls.diskGiB) : '20',
  } satisfies ClassDraft;
}

/**
 * Checks a draft against the API's own schemas (ClassName, ClassBody) with TypeBox, as hearthd
 * does, and says each wrong field's rule. Valid: the body to send.
 */
export function validateClass(draft: ClassDraft): { name: string; body: ClassBody } | { errors: ClassErrors } {
  const fields: ClassErrors['fields'] = {};
  const name = draft.name.trim();
  if (!Value.Check(ClassName, name)) fields.name = RULE.name;
  const body = {
    ...(draft.description.trim() !== '' && { description: draft.description.trim() }),
    cpus: toNumber(draft.cpus),
    memoryMiB: toNumber(draft.memoryMiB),
    diskGiB: toNumber(draft.diskGiB),
  };
  for (const error of Value.Errors(ClassBody, body)) {
    const field = CLASS_FIELDS.find((f) => error.path === `/${f}`);
    if (field && fields[field] === undefined) fields[field] = RULE[field];
  }
  if (Object.keys(fields).length > 0) return { errors: { fields, form: null } };
  return { name, body: body as ClassBody };
}

/**
 * hearthd's answer, placed on its field: `details` paths (`/body/cpus`, `/params/name`), and the
 * class checks that it words without details (memory below the minimum, more vCPUs than the host).
 */
export function classErrors(error: unknown): ClassErrors {
  if (!(error instanceof HearthCallError)) return { fields: {}, form: { message: String(error) } };
  const fields: ClassErrors['fields'] = {};
  for (const detail of error.error.details ?? []) {
    const field = CLASS_FIELDS.find((f) => detail.path.split('/').at(-1) === f);
    if (field && fields[field] === undefined) fields[field] = RULE[field];
  }
  if (error.code === 'unprocessable' && Object.keys(fields).length === 0) {
    if (/of memory, below the minimum/.test(error.message)) fields.memoryMiB = error.message;
    else if (/vCPUs but this machine has/.test(error.message)) fields.cpus = error.message;
  }
  const placed = Object.keys(fields).length > 0;
  const hint = error.error.source === 'hearthd' ? error.error.hint : undefined;
  return { fields, form: placed ? null : { message: error.message, ...(hint !== undefined && { hint }) } };
}
