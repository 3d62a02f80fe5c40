import type { Environment, ProvisioningState } from '#protocol';
import { Indeterminate } from '../environments/Meter.js';

/**
 * cloud-init as the guest's agent reports it: nothing while it is done (the environment is simply
 * running), the last stage while it works, and cloud-init's own error when it failed.
 */
export function ProvisioningProgress(props: { env: Environment; provisioning: ProvisioningState }) {
  const { status, stage, error } = props.provisioning;
  if (status === 'done') return null;
  if (status === 'error') {
    return (
      <div className="banner banner-fail" role="alert" data-testid="provisioning" data-status={status}>
        <strong>Setting it up failed</strong>
        {stage !== null && <> at {stage}</>}: {error ?? 'cloud-init reported an error without a message'}
      </div>
    );
  }
  // Waiting on a stopped environment means nothing is happening: say nothing.
  if (props.env.state !== 'starting') return null;
  const text =
    status === 'waiting'
      ? 'Booting; waiting for its first word from the guest agent'
      : `Setting it up (cloud-init): ${stage ?? 'starting'}`;
  return (
    <div className="env-progress" data-testid="provisioning" data-status={status} role="status">
      <Indeterminate label={`${props.env.name}: ${text}`} />
      <span className="muted small">{text}…</span>
    </div>
  );
}
