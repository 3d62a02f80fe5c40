import { Value } from '@sinclair/typebox/value';
import { useId, useState, type SyntheticEvent } from 'react';
import { Profile } from '#protocol';
import { Button } from '../../ui/Button.js';
import { TextField } from '../../ui/TextField.js';
import { useProfile, usePutProfile } from './queries.js';

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

const RULE = {
  gitName: 'At most 200 characters, without < or >.',
  gitEmail: 'An e-mail address such as ada@example.com.',
} as const;
type Field = keyof typeof RULE;

/** The caller's git identity: commits made in environments created afterwards carry it. */
export function ProfileSection({ connected }: { connected: boolean }) {
  const profile = useProfile(connected);
  return (
    <section className="card" aria-labelledby="profile-title" data-testid="profile">
      <h2 id="profile-title">Profile</h2>
      <p className="muted small">
        The name and e-mail address git records in commits you make in your environments (created from now on).
      </p>
      {profile.error && (
        <div className="banner banner-fail" role="alert" data-testid="profile-error">
          {message(profile.error)}
        </div>
      )}
      {profile.data && <ProfileForm saved={profile.data} />}
    </section>
  );
}

function ProfileForm({ saved }: { saved: Profile }) {
  const id = useId();
  const put = usePutProfile();
  const [draft, setDraft] = useState({ gitName: saved.gitName ?? '', gitEmail: saved.gitEmail ?? '' });
  const [errors, setErrors] = useState<Partial<Record<Field, string>>>({});

  const submit = (event: SyntheticEvent) => {
    event.preventDefault();
    const body: Profile = {
      gitName: draft.gitName.trim() === '' ? null : draft.gitName.trim(),
      gitEmail: draft.gitEmail.trim() === '' ? null : draft.gitEmail.trim(),
    };
    const found: Partial<Record<Field, string>> = {};
    for (const field of ['gitName', 'gitEmail'] as const)
      if (!Value.Check(Profile.properties[field], body[field])) found[field] = RULE[field];
    setErrors(found);
    if (Object.keys(found).length === 0) put.mutate(body);
  };

  const field = (name: Field, label: string, type = 'text') => (
    <TextField
      id={`${id}-${name}`}
      name={name}
      type={type}
      label={label}
      value={draft[name]}
      onValue={(value) => setDraft({ ...draft, [name]: value })}
      error={errors[name]}
      errorTestId={`profile-error-${name}`}
    />
  );

  return (
    <form className="form profile-form" onSubmit={submit} noValidate data-testid="profile-form">
      <div className="profile-fields">
        {field('gitName', 'Git name')}
        {field('gitEmail', 'Git e-mail', 'email')}
      </div>
      {put.error && (
        <div className="banner banner-fail" role="alert">
          {message(put.error)}
        </div>
      )}
      <div className="actions">
        <Button type="submit" variant="primary" disabled={put.isPending}>
          {put.isPending ? 'Saving…' : 'Save profile'}
        </Button>
        {put.isSuccess && (
          <span className="muted small" role="status">
            Saved.
          </span>
        )}
      </div>
    </form>
  );
}
