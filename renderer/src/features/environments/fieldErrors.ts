import { HearthCallError } from '../../hearth.js';

export type CreateField = 'name' | 'class' | 'image' | 'repository' | 'ref' | 'grantHosts';
export interface FormErrors {
  fields: Partial<Record<CreateField, string>>;
  /** What belongs to no one field (admission refusal, hearthd offline), with hearthd's hint. */
  form: { message: string; hint?: string } | null;
}

const FIELDS: readonly CreateField[] = ['name', 'class', 'image', 'repository', 'ref', 'grantHosts'];

/** Schema wording ("Expected string to match '^[a-z]…'") means nothing to a user; say the rule. */
const NAME_RULE = 'Use lower-case letters, digits and inner hyphens, starting with a letter (at most 63 characters).';
const readable = (field: CreateField, message: string) =>
  field === 'name' && /match|pattern|length|characters/i.test(message) ? NAME_RULE : message;

/**
 * hearthd's refusals that come down to the chosen class's size (helper/src/environments/admission.ts
 * and caps.ts: not enough memory, a disk that cannot fit, a class this machine cannot run), which
 * hearthd says in words only. The fix is another class, so they belong on the Class field.
 */
const ABOUT_CLASS = /^Not enough memory|disk may grow to|^Class \S+ has/;

/**
 * Places an error where the user can act on it: `details` name fields (`body/name`, from hearthd's
 * or the app's own validation); a duplicate is a `conflict` about the name, and an admission
 * refusal for memory or disk one about the class (both in words only) — any other refusal (too
 * many environments running, or for one user) concerns the whole form.
 */
export function formErrors(error: unknown): FormErrors {
  if (!(error instanceof HearthCallError)) return { fields: {}, form: { message: String(error) } };
  const fields: FormErrors['fields'] = {};
  for (const detail of error.error.details ?? []) {
    const field = FIELDS.find((f) => detail.path.split('/').at(-1) === f);
    if (field && fields[field] === undefined) fields[field] = readable(field, detail.message);
  }
  if (error.code === 'conflict' && /already exists/.test(error.message)) fields.name = error.message;
  else if (/^(conflict|unprocessable)$/.test(error.code) && ABOUT_CLASS.test(error.message))
    fields.class = error.message;
  const placed = Object.keys(fields).length > 0;
  const hint = error.error.source === 'hearthd' ? error.error.hint : undefined;
  return {
    fields,
    form: placed ? null : { message: error.message, ...(hint !== undefined && { hint }) },
  };
}
