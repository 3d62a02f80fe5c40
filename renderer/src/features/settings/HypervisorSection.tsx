import { useId } from 'react';
import type { HostReport } from '#protocol';
import { AdminNote } from './AdminNote.js';
import { accelChoices, hypervisorChoices, type Choice } from './machine.js';
import { useHearthdConfig } from '../../queries.js';
import { useUpdateConfig, useVersion } from './queries.js';
import { call } from '../../hearth.js';
import { usePushed } from '../../store.js';
import { Button } from '../../ui/Button.js';
import { InstallPanel } from '../setup/InstallPanel.js';

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Which VMM and accelerator hearthd uses, with what each choice means on this machine. */
export function HypervisorSection(props: { connected: boolean; admin: boolean | undefined; host: HostReport | null }) {
  const config = useHearthdConfig(props.connected);
  const version = useVersion(props.connected);
  const update = useUpdateConfig();
  const readOnly = !props.connected || props.admin === false || update.isPending;
  const settings = config.data?.settings;
  const overridden = new Set(config.data?.overriddenByFlags ?? []);

  return (
    <section className="card" aria-labelledby="hv-title" data-testid="hypervisor">
      <div className="card-head">
        <div>
          <h2 id="hv-title">Hypervisor and accelerator</h2>
          <p className="muted small">How hearthd runs VMs. Environments already running keep theirs until restarted.</p>
        </div>
      </div>
      <AdminNote admin={props.admin} />
      {(config.error ?? update.error) && (
        <div className="banner banner-fail" role="alert" data-testid="config-error">
          {message(config.error ?? update.error)}
        </div>
      )}
      {settings && (
        <div className="settings-choices">
          <ChoiceGroup
            legend="Hypervisor"
            name="hypervisor"
            value={settings.hypervisor}
            choices={hypervisorChoices(version.data ?? null, props.host)}
            disabled={readOnly}
            overridden={overridden.has('hypervisor')}
            onChange={(hypervisor) => update.mutate({ hypervisor: hypervisor })}
          />
          <ChoiceGroup
            legend="Accelerator (QEMU)"
            name="accel"
            value={settings.accel}
            choices={accelChoices(props.host)}
            disabled={readOnly}
            overridden={overridden.has('accel')}
            onChange={(accel) => update.mutate({ accel: accel })}
          />
        </div>
      )}
      <InstallCloudHypervisor connected={props.connected} host={props.host} />
    </section>
  );
}

/**
 * Cloud Hypervisor is not packaged by distributions: Hearth installs one pinned release and its
 * firmware, checked against digests built into Hearth, through the installer's one password
 * prompt (hearthd itself never fetches a VMM).
 */
function InstallCloudHypervisor(props: { connected: boolean; host: HostReport | null }) {
  const install = usePushed((s) => s.install);
  const setInstall = usePushed((s) => s.setInstall);
  const running = install?.action === 'install-cloud-hypervisor' ? install : null;
  const found = props.host?.checks.find((c) => c.id === 'cloud-hypervisor')?.status === 'pass';
  return (
    <div className="settings-install-vmm" data-testid="install-cloud-hypervisor">
      <h3>Cloud Hypervisor</h3>
      <p className="muted small">
        {found
          ? 'Installed. Installing again checks the pinned release and changes nothing if it is in place.'
          : 'Not installed. Hearth installs the pinned release and its firmware (CLOUDHV.fd), checked against digests built into Hearth. It needs your password once.'}
      </p>
      <Button
        disabled={!props.connected || install?.state === 'running'}
        onClick={() => void call('runInstaller', { action: 'install-cloud-hypervisor' }).then(setInstall)}
      >
        {running?.state === 'running' ? 'Installing…' : 'Install Cloud Hypervisor'}
      </Button>
      {running && <InstallPanel run={running} />}
    </div>
  );
}

function ChoiceGroup<V extends string>(props: {
  legend: string;
  name: string;
  value: V;
  choices: Choice<V>[];
  disabled: boolean;
  overridden: boolean;
  onChange: (value: V) => void;
}) {
  const id = useId();
  return (
    <fieldset className="settings-fieldset" disabled={props.disabled} data-testid={`choice-${props.name}`}>
      <legend>{props.legend}</legend>
      {props.overridden && (
        <p className="banner banner-warn small" role="note">
          A hearthd command-line flag fixes this for its current run; a change is saved and applies once the flag is
          gone.
        </p>
      )}
      {props.choices.map((choice) => (
        <div key={choice.value} className="settings-choice" data-unavailable={choice.unavailable}>
          <input
            type="radio"
            id={`${id}-${choice.value}`}
            name={`${id}-${props.name}`}
            value={choice.value}
            checked={props.value === choice.value}
            onChange={() => props.onChange(choice.value)}
            aria-describedby={`${id}-${choice.value}-meaning`}
          />
          <label htmlFor={`${id}-${choice.value}`}>
            {choice.label}
            {choice.unavailable && <span className="settings-unavailable"> — not available here</span>}
          </label>
          <p className="muted small" id={`${id}-${choice.value}-meaning`}>
            {choice.meaning}
          </p>
        </div>
      ))}
    </fieldset>
  );
}
