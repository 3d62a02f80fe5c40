import { useId, useState, type ReactNode, type SyntheticEvent } from 'react';
import type { Environment, EnvironmentClass } from '#protocol';
import { useHearthdConfig, useHostReport } from '../../queries.js';
import { Button } from '../../ui/Button.js';
import { RepositoryFields } from '../repositories/RepositoryFields.js';
import { checkUrl, grantHostsOf, refProblem } from '../repositories/repositoryForm.js';
import { useCreateSshKey, useSshSetup } from '../ssh/queries.js';
import { classFit } from './admission.js';
import { formErrors, type CreateField } from './fieldErrors.js';
import { useClasses, useCreateEnvironment, useEnvironments, useImages } from './queries.js';

const mib = (n: number) => (n >= 1024 ? `${n / 1024} GiB` : `${n} MiB`);

/**
 * Name, class, image, isolation and a repository to clone (URL and ref); the user's SSH public key
 * goes along unasked when they have one (and the form offers to make one when not). The form does
 * not second-guess hearthd's rules (name pattern, uniqueness, admission): it sends what the user
 * chose and shows hearthd's answer on the field it concerns. The repository URL is the exception:
 * it is judged as it is typed, by the parser hearthd uses, and a refused one is not sent.
 */
export function CreateEnvironmentForm(props: { onDone: (created: Environment) => void; onCancel: () => void }) {
  const id = useId();
  const classes = useClasses(true);
  const images = useImages(true);
  const environments = useEnvironments(true);
  const config = useHearthdConfig(true);
  const host = useHostReport(true);
  const fitOf = (c: EnvironmentClass) => classFit(c, environments.data ?? [], config.data, host.data);
  const create = useCreateEnvironment();
  const [name, setName] = useState('');
  const [cls, setCls] = useState('');
  const [image, setImage] = useState('');
  const [isolated, setIsolated] = useState(false);
  const [repository, setRepository] = useState('');
  const [ref, setRef] = useState('');
  const [grantHosts, setGrantHosts] = useState('');
  const ssh = useSshSetup();
  const createKey = useCreateSshKey();
  const errors = create.error ? formErrors(create.error) : { fields: {}, form: null };

  const chosenClass = cls || classes.data?.[0]?.name || '';
  const chosenImage = image || images.data?.[0]?.name || '';
  // Images without provisioning (the busybox test guest) have no network, so no SSH or isolation.
  // Until the list is in, nothing is known: offer neither, rather than flash both.
  const networked =
    images.data !== undefined && images.data.find((i) => i.name === chosenImage)?.provisioning !== 'none';
  const publicKey = ssh.data?.publicKey ?? null;

  /** What the chosen class would do to this machine now (hearthd's answer still decides). */
  const chosenFitNote = (): string | undefined => {
    const chosen = classes.data?.find((c) => c.name === chosenClass);
    const fit = chosen && fitOf(chosen);
    if (!fit || fit.fits === undefined) return undefined;
    return fit.fits ? `It ${fit.note}.` : `It does not fit now: ${fit.why}.`;
  };

  const repo = checkUrl(repository.trim());
  const submit = (event: SyntheticEvent) => {
    event.preventDefault();
    // Both are said under their fields already; hearthd would refuse them with the same reason.
    const granted = grantHostsOf(grantHosts);
    const wrong =
      repo.state === 'bad'
        ? 'repository'
        : repo.state === 'ok' && refProblem(ref.trim()) !== null
          ? 'ref'
          : repo.state === 'ok' && 'problem' in granted
            ? 'grantHosts'
            : undefined;
    if (wrong !== undefined) {
      document.getElementById(`${id}-${wrong}`)?.focus();
      return;
    }
    create.mutate(
      {
        name: name.trim(),
        class: chosenClass,
        ...(chosenImage && { image: chosenImage }),
        ...(networked && publicKey !== null && { sshPublicKey: publicKey }),
        ...(networked && isolated && { isolated: true }),
        ...(repo.state === 'ok' && { repository: repo.location.url }),
        ...(repo.state === 'ok' && ref.trim() !== '' && { ref: ref.trim() }),
        ...(repo.state === 'ok' && 'hosts' in granted && granted.hosts.length > 0 && { grantHosts: granted.hosts }),
      },
      { onSuccess: props.onDone },
    );
  };

  const fieldProps = (field: CreateField) => {
    const message = errors.fields[field];
    return {
      id: `${id}-${field}`,
      'aria-invalid': message !== undefined,
      'aria-describedby': message !== undefined ? `${id}-${field}-error` : undefined,
      message,
    };
  };
  const fieldError = (field: CreateField, message: string | undefined) =>
    message !== undefined && (
      <p className="field-error" id={`${id}-${field}-error`} data-testid={`error-${field}`}>
        {message}
      </p>
    );

  const nameField = fieldProps('name');
  const classField = fieldProps('class');
  const imageField = fieldProps('image');
  const listError = classes.error ?? images.error;

  return (
    <form className="form" onSubmit={submit} noValidate data-testid="create-form">
      <div className="field">
        <label htmlFor={nameField.id}>Name</label>
        <input
          id={nameField.id}
          name="name"
          className="input"
          autoFocus
          autoComplete="off"
          spellCheck={false}
          value={name}
          onChange={(e) => setName(e.target.value)}
          aria-invalid={nameField['aria-invalid']}
          aria-describedby={nameField['aria-describedby'] ?? `${id}-name-help`}
        />
        <p className="muted small" id={`${id}-name-help`}>
          Becomes its host name, <code>&lt;name&gt;.hearth</code>: lower-case letters, digits, hyphens.
        </p>
        {fieldError('name', nameField.message)}
      </div>
      <SelectField
        label="Class"
        name="class"
        field={classField}
        value={chosenClass}
        onChange={setCls}
        options={(classes.data ?? []).map((c) => {
          const fit = fitOf(c);
          return {
            value: c.name,
            text: `${c.name} — ${c.cpus} CPU, ${mib(c.memoryMiB)}, ${c.diskGiB} GiB disk${fit.fits === false ? ' (does not fit now)' : ''}`,
          };
        })}
        note={chosenFitNote()}
        error={fieldError('class', classField.message)}
      />
      <SelectField
        label="Image"
        name="image"
        field={imageField}
        value={chosenImage}
        onChange={setImage}
        options={(images.data ?? []).map((i) => ({ value: i.name, text: `${i.name} — ${i.os.pretty}` }))}
        note={images.data?.length === 0 ? 'No images are installed; hearthd uses its default.' : undefined}
        error={fieldError('image', imageField.message)}
      />
      <RepositoryFields
        idPrefix={id}
        url={repository}
        onUrl={setRepository}
        gitRef={ref}
        onRef={setRef}
        grantHosts={grantHosts}
        onGrantHosts={setGrantHosts}
        errors={{ repository: errors.fields.repository, ref: errors.fields.ref, grantHosts: errors.fields.grantHosts }}
      />
      {networked && (
        <div className="field">
          <div className="checkbox-row">
            <input
              type="checkbox"
              id={`${id}-isolated`}
              name="isolated"
              checked={isolated}
              onChange={(e) => setIsolated(e.target.checked)}
              aria-describedby={`${id}-isolated-help`}
            />
            <label htmlFor={`${id}-isolated`}>Isolate its network</label>
          </div>
          <p className="muted small" id={`${id}-isolated-help`}>
            It reaches the internet only: not your LAN, not this computer, not cloud metadata addresses and not your
            other environments. DHCP and DNS still work. Choose it for code you do not trust.
          </p>
        </div>
      )}
      {networked && ssh.data && (
        <div className="field" data-testid="create-ssh" data-key={publicKey === null ? 'absent' : 'present'}>
          {publicKey !== null ? (
            <p className="muted small">
              SSH: it will accept your key (<code>{ssh.data.keyPath}</code>) as{' '}
              <code>ssh {name.trim() || '<name>'}.hearth</code>.
            </p>
          ) : (
            <>
              <p className="muted small">
                You have no SSH key yet: without one, the environment accepts no SSH login. Hearth can make one for you
                (it stays on this computer).
              </p>
              <Button small onClick={() => createKey.mutate()} disabled={createKey.isPending}>
                {createKey.isPending ? 'Creating…' : 'Create SSH key'}
              </Button>
              {createKey.error && (
                <p className="field-error" role="alert">
                  {createKey.error.message}
                </p>
              )}
            </>
          )}
        </div>
      )}
      {(errors.form ?? listError) && (
        <div className="banner banner-fail" role="alert" data-testid="create-error">
          {errors.form?.message ?? (listError instanceof Error ? listError.message : String(listError))}
          {errors.form?.hint && <p className="muted small">{errors.form.hint}</p>}
        </div>
      )}
      <div className="dialog-actions">
        <Button onClick={props.onCancel}>Cancel</Button>
        <Button type="submit" variant="primary" disabled={create.isPending || !chosenClass}>
          {create.isPending ? 'Creating…' : 'Create'}
        </Button>
      </div>
    </form>
  );
}

/** A labelled choice whose error (from hearthd) is announced with it. */
function SelectField(props: {
  label: string;
  name: string;
  field: { id: string; 'aria-invalid': boolean; 'aria-describedby': string | undefined };
  value: string;
  onChange: (value: string) => void;
  options: { value: string; text: string }[];
  note?: string | undefined;
  error: ReactNode;
}) {
  return (
    <div className="field">
      <label htmlFor={props.field.id}>{props.label}</label>
      <select
        id={props.field.id}
        name={props.name}
        className="input"
        value={props.value}
        onChange={(e) => props.onChange(e.target.value)}
        aria-invalid={props.field['aria-invalid']}
        aria-describedby={props.field['aria-describedby']}
      >
        {props.options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.text}
          </option>
        ))}
      </select>
      {props.note && <p className="muted small">{props.note}</p>}
      {props.error}
    </div>
  );
}
