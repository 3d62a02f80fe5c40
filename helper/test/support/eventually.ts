/**
 * The one way tests wait for a state: ask `check` until it answers, then return the answer.
 * `check` returns the value waited for, or `undefined`/`false` for "not yet"; a thrown error is
 * "not yet" too, and the last one is reported if time runs out. Waiting on an event (a stream,
 * `once(emitter, …)`, a process's exit) is better still where one exists; this is for states only
 * a poll can show (a file's content, a process table, an API's answer).
 */
export interface EventuallyOptions {
  /** What is waited for, named in the timeout error. */
  what?: string;
  timeoutMs?: number;
  /** Between two checks. */
  intervalMs?: number;
  /** What the timeout error should show besides (the last list seen, the console's tail). */
  context?: () => string | Promise<string>;
  /** Stops the wait at once, with this reason, when what is waited for can no longer come. */
  giveUp?: () => string | undefined;
}

export async function eventually<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  options: EventuallyOptions = {},
): Promise<T> {
  const { what = 'the condition', timeoutMs = 10_000, intervalMs = 50, context, giveUp } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    const hopeless = giveUp?.();
    if (hopeless !== undefined) throw new Error(`gave up waiting for ${what}: ${hopeless}`);
    if (Date.now() >= deadline) {
      const cause =
        lastError === undefined
          ? ''
          : `: last check threw ${lastError instanceof Error ? lastError.message : JSON.stringify(lastError)}`;
      const shown = context === undefined ? '' : `\n${await context()}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}${shown}`, { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, Math.max(1, deadline - Date.now()))));
  }
}
