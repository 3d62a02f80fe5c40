import type { TestOptions } from 'vitest';

declare module 'vitest' {
  interface TaskMeta {
    /** Why a test or suite did not run: scripts/summary-reporter.ts prints it beside the totals. */
    skipReason?: string;
  }
}

/**
 * Options for `describe`/`it`: skipped, with the reason the run's summary lists, when `reason` is
 * set; an ordinary test otherwise. `describe(name, skipWhen(reason), () => …)`. Inside a running
 * test, `ctx.skip(reason)` does the same.
 */
export function skipWhen(reason: string | undefined): TestOptions {
  return reason === undefined ? {} : { skip: true, meta: { skipReason: reason } };
}

/** Set when the tests do not run as root, which those that make users, devices or namespaces need. */
export const NEEDS_ROOT: string | undefined =
  process.getuid?.() === 0 ? undefined : 'needs root (it creates users, device nodes, namespaces or root-owned files)';
