import type { CheckCategory, CheckStatus, HostReport, Verdict } from '#protocol';
import { CopyButton } from '../../ui/CopyButton.js';
import { StatusBadge, type Tone } from '../../ui/StatusBadge.js';

const VERDICT: Record<Verdict, { label: string; tone: Tone }> = {
  ready: { label: 'Ready', tone: 'pass' },
  degraded: { label: 'Works with limitations', tone: 'warn' },
  'not-ready': { label: 'Not ready', tone: 'fail' },
};
const CHECK: Record<CheckStatus, { label: string; tone: Tone }> = {
  pass: { label: 'Pass', tone: 'pass' },
  warn: { label: 'Warning', tone: 'warn' },
  fail: { label: 'Fail', tone: 'fail' },
};
const CATEGORY: Record<CheckCategory, string> = {
  platform: 'Platform',
  kvm: 'Virtualization (KVM)',
  kernel: 'Kernel',
  resources: 'Memory and disk',
  hypervisor: 'Hypervisors',
  network: 'Networking',
};
const ORDER: Record<CheckStatus, number> = { fail: 0, warn: 1, pass: 2 };

const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(1)} GiB`;

export function ReadinessReport(props: {
  report: HostReport | null;
  error: string | null;
  live: boolean;
  checking: boolean;
  onRecheck: () => void;
}) {
  const { report } = props;
  return (
    <section className="card" aria-labelledby="readiness-title" data-testid="readiness">
      <div className="card-head">
        <div>
          <h2 id="readiness-title">This machine</h2>
          <p className="muted small">What hearthd measured, and the exact command for anything to fix.</p>
        </div>
        {report && (
          <StatusBadge tone={VERDICT[report.verdict].tone} label={VERDICT[report.verdict].label} testId="verdict" />
        )}
      </div>
      {!props.live && report && (
        <div className="banner banner-warn" role="status">
          The helper is offline: this report is from {new Date(report.checkedAt).toLocaleTimeString()} and may be out of
          date.
        </div>
      )}
      {!report && (
        <p className="muted">
          {props.live
            ? (props.error ?? 'Loading the readiness report…')
            : 'The readiness report appears once the helper is running.'}
        </p>
      )}
      {report && (
        <>
          <p className="lead" data-testid="verdict-reason">
            {report.reason}
          </p>
          <dl className="facts facts-grid">
            <div>
              <dt>System</dt>
              <dd>
                {report.distro.version === undefined || report.distro.name.includes(report.distro.version)
                  ? report.distro.name
                  : `${report.distro.name} ${report.distro.version}`}{' '}
                · {report.arch}
              </dd>
            </div>
            <div>
              <dt>Kernel</dt>
              <dd>{report.kernel}</dd>
            </div>
            <div>
              <dt>Memory</dt>
              <dd>
                {gib(report.capacity.memoryAvailableBytes)} free of {gib(report.capacity.memoryTotalBytes)} · room for{' '}
                {report.capacity.environments} environment{report.capacity.environments === 1 ? '' : 's'}
              </dd>
            </div>
            <div>
              <dt>Disk ({report.disk.path})</dt>
              <dd>
                {gib(report.disk.freeBytes)} free of {gib(report.disk.totalBytes)}
              </dd>
            </div>
          </dl>
          <ul className="checks">
            {[...report.checks]
              .sort((a, b) => ORDER[a.status] - ORDER[b.status])
              .map((check) => (
                <li
                  key={check.id}
                  className={`check check-${check.status}`}
                  data-check={check.id}
                  data-status={check.status}
                >
                  <div className="check-head">
                    <StatusBadge tone={CHECK[check.status].tone} label={CHECK[check.status].label} />
                    <span className="check-title">{check.title}</span>
                    <span className="check-category muted small">{CATEGORY[check.category]}</span>
                  </div>
                  <p className="check-detail">{check.detail}</p>
                  {check.remedy && (
                    <div className="remedy">
                      <p>{check.remedy.summary}</p>
                      {check.remedy.command !== undefined && (
                        <div className="command">
                          <code>{check.remedy.command}</code>
                          <CopyButton text={check.remedy.command} />
                        </div>
                      )}
                    </div>
                  )}
                </li>
              ))}
          </ul>
          <div className="actions">
            <button type="button" className="btn" disabled={!props.live || props.checking} onClick={props.onRecheck}>
              {props.checking ? 'Checking…' : 'Check again'}
            </button>
            <span className="muted small">Checked at {new Date(report.checkedAt).toLocaleTimeString()}</span>
          </div>
        </>
      )}
    </section>
  );
}
