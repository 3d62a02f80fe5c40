import type { HearthEvent } from '#protocol';
import type { Caller } from '../caller.js';
import { mayAct } from './access.js';

/**
 * What `caller` may see of `event` on the event stream: machine-wide events whole, an
 * environment's events only if it may act on that environment (a member must not learn of
 * others' environments through /v1/events either), and a stats event cut to its own
 * environments (not sent at all when none is left).
 */
export function eventFor(caller: Caller, event: HearthEvent): HearthEvent | undefined {
  switch (event.type) {
    case 'environment':
      return mayAct(caller, event.environment.owner.uid) ? event : undefined;
    case 'stats': {
      const environments = event.environments.filter((e) => mayAct(caller, e.owner.uid));
      if (environments.length === event.environments.length) return event;
      return environments.length ? { ...event, environments } : undefined;
    }
    default:
      return event;
  }
}
