import type { Environment } from '#protocol';
import { hrefOf } from '../../app/router.js';
import { Button } from '../../ui/Button.js';
import type { EnvironmentAction } from './queries.js';
import { isTransitional } from './states.js';

/** What can be done to an environment now; the same buttons on the dashboard and its details page. */
export function EnvironmentActions(props: {
  env: Environment;
  busy: boolean;
  onAction: (action: EnvironmentAction) => void;
  /** The dashboard links to the details page; the details page is it. */
  withOpen?: boolean;
}) {
  const { env } = props;
  const running = env.state === 'running';
  const canStart = env.state === 'stopped' || env.state === 'failed';
  const canStop = env.state === 'running' || env.state === 'starting';
  const disabled = props.busy || isTransitional(env.state);
  return (
    <div className="env-actions">
      {props.withOpen && (
        <a className="btn btn-small" href={hrefOf({ page: 'environment', id: env.id })} aria-label={`Open ${env.name}`}>
          Open
        </a>
      )}
      {canStart && (
        <Button small onClick={() => props.onAction('start')} disabled={disabled}>
          Start
        </Button>
      )}
      {canStop && (
        <Button small onClick={() => props.onAction('stop')} disabled={disabled}>
          Stop
        </Button>
      )}
      <Button small onClick={() => props.onAction('restart')} disabled={disabled || !running}>
        Restart
      </Button>
      <Button
        small
        variant="danger"
        onClick={() => props.onAction('delete')}
        disabled={props.busy || env.state === 'deleting'}
        aria-label={`Delete ${env.name}`}
      >
        Delete
      </Button>
    </div>
  );
}
