import { useId, useState, type SyntheticEvent } from 'react';
import type { EnvironmentClass } from '#protocol';
import { Button } from '../../ui/Button.js';
import {
  classErrors,
  draftOf,
  validateClass,
  type ClassDraft,
  type ClassErrors,
  type ClassField,
} from './classForm.js';
import { usePutClass } from './queries.js';

const LABEL: Record<ClassField, string> = {
  name: 'Name',
  description: 'Description',
  cpus: 'CPUs',
  memoryMiB: 'Memory (MiB)',
  diskGiB: 'Disk (GiB)',
};

/**
 * Create (no `editing`) or edit a class. Checked in the window against the API's schemas first,
 * then sent; what hearthd still refuses (memory below its minimum, more CPUs than the host) is
 * shown on the field it concerns.
 */
export function ClassForm(props: { editing?: EnvironmentClass; onDone: () => void; onCancel: () => void }) {
  const id = useId();
  const put = usePutClass();
  const [draft, setDraft] = useState<ClassDraft>(() => draftOf(props.editing));
  const [local, setLocal] = useState<ClassErrors | null>(null);
  const errors = local ?? (put.error ? classErrors(put.error) : { fields: {}, form: null });

  const submit = (event: SyntheticEvent) => {
    event.preventDefault();
    const checked = validateClass(draft);
    if ('errors' in checked) {
      setLocal(checked.errors);
      return;
    }
    setLocal(null);
    put.mutate({ name: checked.name, body: checked.body }, { onSuccess: props.onDone });
  };

  const field = (name: ClassField, input: { type?: string; inputMode?: 'numeric'; readOnly?: boolean } = {}) => {
    const message = errors.fields[name];
    return (
      <div className="field">
        <label htmlFor={`${id}-${name}`}>{LABEL[name]}</label>
        <input
          id={`${id}-${name}`}
          name={name}
          className="input"
          autoComplete="off"
          spellCheck={false}
          value={draft[name]}
          onChange={(e) => setDraft({ ...draft, [name]: e.target.value })}
          aria-invalid={message !== undefined}
          aria-describedby={message !== undefined ? `${id}-${name}-error` : undefined}
          {...input}
        />
        {message !== undefined && (
          <p className="field-error" id={`${id}-${name}-error`} data-testid={`class-error-${name}`}>
            {message}
          </p>
        )}
      </div>
    );
  };

  return (
    <form className="form" onSubmit={submit} noValidate data-testid="class-form">
      {/* A class is replaced under its name: renaming would be a new class, so the name is fixed when editing. */}
      {field('name', props.editing ? { readOnly: true } : {})}
      {field('description')}
      <div className="class-form-numbers">
        {field('cpus', { inputMode: 'numeric' })}
        {field('memoryMiB', { inputMode: 'numeric' })}
        {field('diskGiB', { inputMode: 'numeric' })}
      </div>
      <p className="muted small">Running environments keep what they started with; new ones get these figures.</p>
      {errors.form && (
        <div className="banner banner-fail" role="alert" data-testid="class-form-error">
          {errors.form.message}
          {errors.form.hint && <p className="muted small">{errors.form.hint}</p>}
        </div>
      )}
      <div className="dialog-actions">
        <Button onClick={props.onCancel}>Cancel</Button>
        <Button type="submit" variant="primary" disabled={put.isPending}>
          {put.isPending ? 'Saving…' : props.editing ? 'Save class' : 'Create class'}
        </Button>
      </div>
    </form>
  );
}
