import { describe, expect, it } from 'vitest';
import { formErrors } from '../../src/features/environments/fieldErrors.js';
import { HearthCallError } from '../../src/hearth.js';

const hearthd = (code: 'conflict' | 'unprocessable' | 'invalid-request', message: string, hint?: string) =>
  new HearthCallError({ source: 'hearthd', status: 409, code, message, ...(hint !== undefined && { hint }) });

/** hearthd's refusals as helper/src/environments/admission.ts and caps.ts word them. */
describe('create form: where hearthd’s errors are shown', () => {
  it('puts a memory refusal, with its shortfall, on the Class field', () => {
    const message =
      'Not enough memory: this environment needs 4194404 MiB (4194304 MiB + 100 MiB overhead) but only 22000 MiB of the 22000 MiB available to environments are free (host 23000 MiB less 1000 MiB reserved; running environments use 0 MiB) — short by 4172404 MiB; stop an environment or use a smaller class';
    expect(formErrors(hearthd('conflict', message))).toEqual({ fields: { class: message }, form: null });
  });

  it('puts a disk that cannot fit on the Class field', () => {
    const message =
      "This environment's disk may grow to 500 GiB but only 20.1 GiB are free where hearthd keeps disks (/x)";
    expect(formErrors(hearthd('conflict', message, 'free some space')).fields.class).toBe(message);
  });

  it('keeps a per-user or running limit on the form, with its hint', () => {
    const message =
      'You already have 1 environments and the limit per user is 1 (setting maxEnvironmentsPerOwner); delete one first';
    expect(formErrors(hearthd('conflict', message, 'ask an admin'))).toEqual({
      fields: {},
      form: { message, hint: 'ask an admin' },
    });
  });

  it('puts a duplicate on the Name field', () => {
    const message = 'An environment named web already exists';
    expect(formErrors(hearthd('conflict', message)).fields).toEqual({ name: message });
  });
});
