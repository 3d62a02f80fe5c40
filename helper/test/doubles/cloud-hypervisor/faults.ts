/**
 * Fault injection, so a driver's error handling can be tested against failures real CH produces
 * only on broken hosts. Configured by environment, because the driver under test, not the test,
 * spawns the double:
 *
 *   HEARTH_CH_DOUBLE_FAIL="<action>:<effect>[*<times>][,<action>:<effect>[*<times>]...]"
 *
 *   action  an API action (`vm.boot`, `vmm.ping`, …) or `*` for every action
 *   effect  a status 400-599  answer with that status and a CH-style error body; state unchanged
 *           hang              accept the request and never answer it (a wedged VMM)
 *           crash             die at once with SIGKILL, leaving socket and files behind (a VMM crash)
 *   times   apply to the first N matching requests only (default: every one)
 *
 * Example: HEARTH_CH_DOUBLE_FAIL="vm.boot:500*1,vm.info:hang"
 */

export type FaultEffect = { kind: 'status'; status: number } | { kind: 'hang' } | { kind: 'crash' };

interface Rule {
  action: string;
  effect: FaultEffect;
  remaining: number;
}

export class FaultInjector {
  private constructor(private readonly rules: Rule[]) {}

  static parse(spec: string | undefined): FaultInjector {
    if (spec === undefined || spec.trim() === '') return new FaultInjector([]);
    const rules = spec.split(',').map((raw): Rule => {
      const m = /^\s*([\w.*-]+):(\d{3}|hang|crash)(?:\*(\d+))?\s*$/.exec(raw);
      if (m === null) throw new Error(`HEARTH_CH_DOUBLE_FAIL: cannot parse rule "${raw}"`);
      const [, action, effect, times] = m as unknown as [string, string, string, string | undefined];
      let parsed: FaultEffect;
      if (effect === 'hang') parsed = { kind: 'hang' };
      else if (effect === 'crash') parsed = { kind: 'crash' };
      else {
        const status = Number(effect);
        if (status < 400 || status > 599) throw new Error(`HEARTH_CH_DOUBLE_FAIL: status ${status} is not an error`);
        parsed = { kind: 'status', status };
      }
      return { action, effect: parsed, remaining: times === undefined ? Infinity : Number(times) };
    });
    return new FaultInjector(rules);
  }

  /** The fault to apply to this request, consuming one use of its rule. */
  take(action: string): FaultEffect | undefined {
    const rule = this.rules.find((r) => r.remaining > 0 && (r.action === action || r.action === '*'));
    if (rule === undefined) return undefined;
    rule.remaining--;
    return rule.effect;
  }
}
