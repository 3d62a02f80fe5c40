import type { Component, ComponentContext, CreateInputs, LiveVm, SpecContribution } from './component.js';

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
      const { devices, ...paths } = await component.prepare(ctx);
      Object.assign(spec, paths);
      // Devices add up: each component attaches its own.
      if (devices) spec.devices = [...(spec.devices ?? []), ...devices];
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

/**
 * At create, in order: each component chooses what it keeps. The first failure stops it and is
 * thrown as it is (components throw DomainErrors that say why); the caller removes what was made.
 */
export async function initAll(
  components: readonly Component[],
  ctx: ComponentContext,
  create: CreateInputs,
): Promise<void> {
  for (const component of components) await component.init?.(ctx, create);
}

/**
 * Runs one of the live-VM hooks of every component (before stop: in reverse). A failing hook is
 * logged and journaled, and the others still run: the VM already runs, and a hook's failure
 * must not leave it unmanaged.
 */
export async function runHook(
  components: readonly Component[],
  hook: 'afterLaunch' | 'onReattach' | 'beforeStop',
  ctx: ComponentContext,
  vm: LiveVm,
): Promise<void> {
  const ordered = hook === 'beforeStop' ? [...components].reverse() : components;
  for (const component of ordered) {
    if (!component[hook]) continue;
    try {
      await component[hook](ctx, vm);
    } catch (error) {
      const message = `${component.name} ${hook}: ${error instanceof Error ? error.message : String(error)}`;
      ctx.log.warn({ err: error, component: component.name, hook }, 'component hook failed');
      await ctx.journal('component-hook-failed', message).catch(() => undefined);
    }
  }
}
