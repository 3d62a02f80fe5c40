import type { CheckCategory, CheckId, CheckStatus, Remedy, Settings } from '#protocol';
import type { HostFacts } from './facts.js';

/** The settings a judgement depends on: what hearthd will do with the machine, not only what it has. */
export interface JudgedSettings {
  accel: Settings['accel'];
}

export type Outcome = { status: CheckStatus; detail: string; remedy?: Remedy };
export type Check = {
  id: CheckId;
  title: string;
  category: CheckCategory;
  judge: (f: HostFacts, s: JudgedSettings) => Outcome;
};

export const pass = (detail: string): Outcome => ({ status: 'pass', detail });
export const warn = (detail: string, remedy?: Remedy): Outcome => ({
  status: 'warn',
  detail,
  ...(remedy && { remedy }),
});
export const fail = (detail: string, remedy?: Remedy): Outcome => ({
  status: 'fail',
  detail,
  ...(remedy && { remedy }),
});
