import { useState } from 'react';
import { hrefOf } from '../../app/router.js';
import { call } from '../../hearth.js';
import { useRecheckHost } from '../../queries.js';
import { usePushed } from '../../store.js';
import { ImageSources } from '../images/ImageSources.js';
import { AdminNote } from '../settings/AdminNote.js';
import { useIsAdmin } from '../settings/queries.js';
import { InstalledImages } from '../images/InstalledImages.js';
import { RepositoryStep } from '../repositories/RepositoryStep.js';
import { ConnectionPanel } from './ConnectionPanel.js';
import { InstallPanel, isHelperRun } from './InstallPanel.js';
import { ReadinessReport } from './ReadinessReport.js';
import type { SetupStep, SetupStepProps } from './setupSteps.js';

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

function Welcome({ headingId }: SetupStepProps) {
  return (
    <>
      <h2 id={headingId} tabIndex={-1}>
        Welcome to Hearth
      </h2>
      <div className="card">
        <p className="lead">Hearth runs development environments as virtual machines on this computer.</p>
        <ul className="setup-list">
          <li>First it checks what this machine can do (virtualization, memory, disk, networking).</li>
          <li>
            Then it installs <strong>hearthd</strong>, a small system service that starts the VMs. That needs your
            password once.
          </li>
          <li>Nothing leaves this machine: environments, disks and logs stay here.</li>
        </ul>
      </div>
    </>
  );
}

function MachineCheck({ context, headingId }: SetupStepProps) {
  const recheck = useRecheckHost();
  const connected = context.connection?.state === 'connected';
  return (
    <>
      <h2 id={headingId} tabIndex={-1}>
        Machine check
      </h2>
      <dl className="setup-verdicts">
        <div>
          <dt>Ready</dt>
          <dd>Everything environments need is here.</dd>
        </div>
        <div>
          <dt>Works with limitations (degraded)</dt>
          <dd>
            Environments run, but something is missing: for example no KVM, so VMs run emulated and much slower. Each
            warning says what you lose and how to fix it.
          </dd>
        </div>
        <div>
          <dt>Not ready</dt>
          <dd>Environments cannot run until the failed checks are fixed; each one gives the command.</dd>
        </div>
      </dl>
      {!connected && (
        <p className="banner banner-warn" role="status">
          The helper runs the checks, and it is not connected yet. Install it in the next step; this report fills in as
          soon as it connects.
        </p>
      )}
      <ReadinessReport
        report={context.host}
        error={recheck.error ? message(recheck.error) : null}
        live={connected}
        checking={recheck.isPending}
        onRecheck={() => recheck.mutate()}
      />
    </>
  );
}

function InstallHelper({ context, headingId }: SetupStepProps) {
  const { setConnection, setInstall } = usePushed();
  const [error, setError] = useState<string | null>(null);
  return (
    <>
      <h2 id={headingId} tabIndex={-1}>
        Install the helper
      </h2>
      <p className="muted">
        The installer shows each step as it runs, and its full log. Running it again repairs or updates an installed
        helper.
      </p>
      <ConnectionPanel
        status={context.connection}
        install={context.install}
        error={error}
        onInstall={(action, purge) => {
          setError(null);
          call('runInstaller', { action, ...(purge && { purge }) }).then(setInstall, (e: unknown) =>
            setError(message(e)),
          );
        }}
        onRetry={() => void call('reconnect', {}).then(setConnection)}
      />
      {isHelperRun(context.install) && <InstallPanel run={context.install} />}
    </>
  );
}

function Images({ context, headingId }: SetupStepProps) {
  const connected = context.connection?.state === 'connected';
  const admin = useIsAdmin(connected);
  return (
    <>
      <h2 id={headingId} tabIndex={-1}>
        An image
      </h2>
      <p className="muted">
        Environments are created from an image: Ubuntu 24.04 LTS or Debian 12, downloaded and checked against the
        distribution&apos;s signed checksums, or Debian 12 built here from its archive. You can add more later in
        Settings → Images.
      </p>
      {!connected ? (
        <p className="banner banner-warn" role="status">
          The helper manages images, and it is not connected yet. Install it in the previous step.
        </p>
      ) : (
        <div className="card">
          <AdminNote admin={admin} />
          {context.images !== null && context.images.length > 0 && (
            <InstalledImages images={context.images} canDelete={false} />
          )}
          <ImageSources connected={connected} canChange={admin !== false} />
        </div>
      )}
    </>
  );
}

function Done({ context, headingId }: SetupStepProps) {
  const connected = context.connection?.state === 'connected';
  return (
    <>
      <h2 id={headingId} tabIndex={-1}>
        {connected && context.host?.verdict !== 'not-ready' ? 'Hearth is ready' : 'Almost there'}
      </h2>
      <div className="card">
        <ul className="setup-summary" data-testid="setup-summary">
          {SETUP_STEPS.filter((s) => s.informational !== true).map((step) => {
            const done = step.isComplete(context);
            return (
              <li key={step.id} data-step-done={done}>
                <span aria-hidden="true">{done ? '✓' : '!'}</span> {step.title}: {done ? 'done' : 'not yet'}
              </li>
            );
          })}
        </ul>
        <p className="muted">You can run this setup again from Settings at any time.</p>
        <p>
          <a className="btn btn-primary" href={hrefOf({ page: 'dashboard' })}>
            Open the dashboard
          </a>
        </p>
      </div>
    </>
  );
}

/** The wizard's steps, in order. Add an entry to add a step. */
export const SETUP_STEPS: readonly SetupStep[] = [
  { id: 'welcome', title: 'Welcome', component: Welcome, isComplete: () => true, informational: true },
  {
    id: 'machine',
    title: 'Machine check',
    component: MachineCheck,
    isComplete: (c) => c.host !== null && c.host.verdict !== 'not-ready',
  },
  {
    id: 'helper',
    title: 'Install the helper',
    component: InstallHelper,
    isComplete: (c) => c.connection?.state === 'connected',
  },
  {
    id: 'images',
    title: 'An image',
    component: Images,
    isComplete: (c) => c.images !== null && c.images.some((i) => i.provisioning === 'cloud-init'),
    // Optional: a machine with only the test guest works, and an installed app must not be sent back to setup.
    informational: true,
  },
  {
    id: 'repositories',
    title: 'Repository access',
    component: RepositoryStep,
    // Optional (skippable): public repositories clone without access, and it can be added in Settings.
    isComplete: () => true,
    informational: true,
  },
  {
    id: 'done',
    title: 'Done',
    component: Done,
    isComplete: (c) => SETUP_STEPS.filter((s) => s.informational !== true).every((s) => s.isComplete(c)),
    informational: true,
  },
];
