import type { Environment } from '#protocol';
import type { CliContext } from '../context.js';

/** Where an environment on its way up is, in a few words: the live line `--wait` shows. */
export function progressOf(env: Environment): string {
  const clone = env.repository?.clone;
  if (clone?.status === 'cloning') {
    const percent = clone.percent === null ? '' : ` ${clone.percent}%`;
    return `cloning ${env.repository?.directory ?? 'the repository'}${percent}${clone.phase ? ` (${clone.phase})` : ''}`;
  }
  if (env.state === 'creating') return 'creating its disk';
  if (env.state === 'starting') {
    const provisioning = env.provisioning;
    if (provisioning?.status === 'running')
      return `provisioning${provisioning.stage ? ` (cloud-init: ${provisioning.stage})` : ''}`;
    if (provisioning?.status === 'done' && env.repository !== null) return 'preparing the repository';
    return 'booting';
  }
  return env.state;
}

/** The states an environment on its way up stops at. */
function settled(env: Environment): boolean {
  return env.state === 'running' || env.state === 'failed' || env.state === 'stopped';
}

/**
 * Follows hearthd's events for one environment until it settles (running, failed, or stopped),
 * calling `onUpdate` with each new version. The event stream is open before `begin` runs, so no
 * change between the request and the first event is missed.
 */
export async function untilSettled(
  context: CliContext,
  begin: () => Promise<Environment>,
  onUpdate: (env: Environment) => void,
): Promise<Environment> {
  const events = context.client.events(context.signal)[Symbol.asyncIterator]();
  try {
    // The hello: the stream is subscribed from here on.
    await events.next();
    let current = await begin();
    onUpdate(current);
    while (!settled(current)) {
      const next = await events.next();
      if (next.done === true) {
        if (context.signal.aborted) throw new Error('interrupted');
        throw new Error('hearthd ended its event stream (it is stopping or restarting)');
      }
      const event = next.value;
      if (event.type !== 'environment' || event.environment.id !== current.id) continue;
      if (event.change === 'deleted') throw new Error(`${current.name} was deleted meanwhile`);
      // The create's own answer can be newer than the events still queued behind it.
      if (event.environment.updatedAt < current.updatedAt) continue;
      current = event.environment;
      onUpdate(current);
    }
    return current;
  } finally {
    await events.return(undefined);
  }
}
