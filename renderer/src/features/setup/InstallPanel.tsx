import type { InstallRun, InstallStepState } from '#protocol';
import { StatusBadge, type Tone } from '../../ui/StatusBadge.js';

const STEP: Record<InstallStepState, { label: string; tone: Tone }> = {
  pending: { label: 'Waiting', tone: 'idle' },
  running: { label: 'Running', tone: 'info' },
  changed: { label: 'Done', tone: 'pass' },
  unchanged: { label: 'Already done', tone: 'pass' },
  skipped: { label: 'Skipped', tone: 'idle' },
  failed: { label: 'Failed', tone: 'fail' },
};

const RUN: Record<InstallRun['state'], { label: string; tone: Tone }> = {
  running: { label: 'Running', tone: 'info' },
  succeeded: { label: 'Finished', tone: 'pass' },
  failed: { label: 'Failed', tone: 'fail' },
  cancelled: { label: 'Cancelled', tone: 'warn' },
};

const KIND: Record<InstallRun['kind'], string> = {
  install: 'Installing the helper',
  upgrade: 'Updating the helper',
  repair: 'Repairing the helper',
  uninstall: 'Uninstalling the helper',
};

/** The jobs besides hearthd itself have their own titles; their kind is always "install". */
const ACTION: Partial<Record<InstallRun['action'], string>> = {
  'build-image': 'Building the Debian image',
  'install-cloud-hypervisor': 'Installing Cloud Hypervisor',
  'link-cli': 'Installing the hearth command',
  'unlink-cli': 'Removing the hearth command',
};

/** A run of hearthd's own install or uninstall, which the helper panels show (image builds show under Images). */
export const isHelperRun = (run: InstallRun | null): run is InstallRun =>
  run !== null && (run.action === 'install' || run.action === 'uninstall');

export function InstallPanel({ run }: { run: InstallRun }) {
  const overall = RUN[run.state];
  const log = run.log.filter((l) => !l.startsWith('::'));
  return (
    <section className="card" aria-labelledby="install-title" data-testid="install" data-state={run.state}>
      <div className="card-head">
        <h2 id="install-title">{ACTION[run.action] ?? KIND[run.kind]}</h2>
        <StatusBadge tone={overall.tone} label={overall.label} testId="install-state" />
      </div>
      {run.error !== undefined && (
        <div className="banner banner-fail" role="alert">
          {run.error}
        </div>
      )}
      <ol className="steps">
        {run.steps.map((step) => {
          const s =
            step.state === 'pending' && run.state !== 'running'
              ? { label: 'Not run', tone: 'idle' as const }
              : STEP[step.state];
          // A failed step's reason is the banner above; other notes sit under their step.
          const note = step.state === 'failed' ? undefined : step.note;
          return (
            <li key={step.id} className={`step step-${step.state}`} data-step={step.id} data-state={step.state}>
              <StatusBadge tone={s.tone} label={s.label} />
              <span className="step-title">{step.title}</span>
              {step.state === 'running' && step.percent !== undefined && (
                <progress
                  className="step-progress"
                  max={100}
                  value={step.percent}
                  aria-label={`${step.title}: ${Math.round(step.percent)}%`}
                />
              )}
              {note !== undefined && <span className="step-note muted small">{note}</span>}
            </li>
          );
        })}
      </ol>
      <details className="log" open={run.state === 'failed'}>
        <summary>Log ({log.length} lines)</summary>
        <pre>
          {log.join('\n') || (run.state === 'running' ? '(nothing yet)' : '(the install script printed nothing else)')}
        </pre>
      </details>
    </section>
  );
}
