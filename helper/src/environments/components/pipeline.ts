import type { Component, ComponentContext, SpecContribution } from './component.js';

export class PrepareError extends Error {
  constructor(
    readonly component: string,
    override readonly cause: unknown,
  ) {
    super(`${component}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

/**
 * Prepares the components in order. If one fails, the ones already prepared are torn down in
 * reverse and the failure names the component; nothing is left half-made.
 */
export async function prepareAll(components: readonly Component[], ctx: ComponentContext): Promise<SpecContribution> {
  const done: Component[] = [];
  const spec: SpecContribution = {};
  for (const component of components) {
    try {
      Object.assign(spec, await component.prepare(ctx));
      done.push(component);
    } catch (error) {
      await teardownAll(done, ctx);
      throw new PrepareError(component.name, error);
    }
  }
  return spec;
}

/** Tears down in reverse order; one failing teardown does not stop the others. */
export async function teardownAll(components: readonly Component[], ctx: ComponentContext): Promise<void> {
  const failures: string[] = [];
  for (const component of [...components].reverse()) {
    try {
      await component.teardown(ctx);
    } catch (error) {
      failures.push(`${component.name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (failures.length) ctx.log.warn({ failures }, 'teardown left something behind');
}

export async function runEach(
  components: readonly Component[],
  step: 'create' | 'recover' | 'destroy',
  ctx: ComponentContext,
): Promise<void> {
  const ordered = step === 'destroy' ? [...components].reverse() : components;
  for (const component of ordered) await component[step]?.(ctx);
}
