import type { Reporter, TestCase, TestModule, TestSuite } from 'vitest/node';

/**
 * Ends the run with one plain line, "tests: N passed, N failed, N skipped", that CI and people
 * read without knowing vitest's own format, and lists just above it every skipped test with the
 * reason it was skipped (`ctx.skip(reason)`, or helper/test/support/skip.ts's `skipWhen`), so a
 * skip is never silent.
 */

/** The reason a skipped test gives: its own note, else its own or a parent suite's `skipReason`. */
function skipReason(test: TestCase): string {
  const result = test.result();
  if (result.state === 'skipped' && result.note) return result.note;
  let task: TestCase | TestSuite | TestModule = test;
  for (;;) {
    const reason = task.meta().skipReason;
    if (reason !== undefined) return reason;
    if (task.type === 'module') break;
    task = task.parent;
  }
  if (test.options.mode === 'todo') return 'todo';
  return 'no reason given (use ctx.skip(reason) or skipWhen(reason))';
}

export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: readonly TestModule[]): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    /** `file: reason` → how many tests it skipped. */
    const skips = new Map<string, number>();
    for (const module of modules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') counts.passed += 1;
        else if (state === 'failed') counts.failed += 1;
        else {
          counts.skipped += 1;
          const key = `${module.relativeModuleId}: ${skipReason(test)}`;
          skips.set(key, (skips.get(key) ?? 0) + 1);
        }
      }
      if (module.state() === 'failed' && module.children.size === 0) counts.failed += 1;
    }
    const lines = [...skips].sort(([a], [b]) => a.localeCompare(b));
    const listed = lines.map(([key, n]) => `  ${n === 1 ? '' : `${n} tests in `}${key}\n`).join('');
    if (listed !== '') process.stdout.write(`\nskipped:\n${listed}`);
    process.stdout.write(`\ntests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`);
  }
}
