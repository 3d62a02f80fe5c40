import { HearthCallError } from '../../hearth.js';

export type CreateField = 'name' | 'class' | 'image';
export interface FormErrors {
  fields: Partial<Record<CreateField, string>>;
  /** What belongs to no one field (admission refusal, hearthd offline), with hearthd's hint. */
  form: { message: string; hint?: string } | null;
}

const FIELDS: readonly CreateField[] = ['name', 'class', 'image'];

/** Schema wording ("Expected string to match '^[a-z]…'") means nothing to a user; say the rule. */
const NAME_RULE = 'Use lower-case letters, digits and inner hyphens, starting with a letter (at most 63 characters).';
const readable = (field: CreateField, message: string) =>
  field === 'name' && /match|pattern|length|characters/i.test(message) ? NAME_RULE : message;

/**
 * Places an error where the user can act on it: `details` name fields (`body/name`, from hearthd's
 * or the app's own validation); a duplicate is a `conflict` about the name, which hearthd says in
 * words only — any other conflict (not enough memory, too many environments) concerns the whole form.
 */
export function formErrors(error: unknown): FormErrors {
  if (!(error instanceof HearthCallError)) return { fields: {}, form: { message: String(error) } };
  const fields: FormErrors['fields'] = {};
  for (const detail of error.error.details ?? []) {
    const field = FIELDS.find((f) => detail.path.split('/').at(-1) === f);
    if (field && fields[field] === undefined) fields[field] = readable(field, detail.message);
  }
  if (error.code === 'conflict' && /already exists/.test(error.message)) fields.name = error.message;
  const placed = Object.keys(fields).length > 0;
  const hint = error.error.source === 'hearthd' ? error.error.hint : undefined;
  return {
    fields,
    form: placed ? null : { message: error.message, ...(hint !== undefined && { hint }) },
  };
}
