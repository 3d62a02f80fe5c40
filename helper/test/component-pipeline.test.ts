import { access, mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type {
  Component,
  ComponentContext,
  CreateInputs,
  LiveVm,
  SpecContribution,
} from '../src/environments/components/component.js';
import { ConsoleComponent } from '../src/environments/components/console.js';
import {
  initAll,
  PrepareError,
  prepareAll,
  runEach,
  runHook,
  teardownAll,
} from '../src/environments/components/pipeline.js';
import { GuestSession } from '../src/guest/session.js';
import { DomainError } from '../src/errors.js';
import { RuntimeDirComponent } from '../src/environments/components/runtime-dir.js';
import { layoutOf } from '../src/environments/layout.js';
import { createLogger, environmentLog } from '../src/log.js';
import { sampleRecord, scratch } from './support/records.js';

type Step = 'create' | 'prepare' | 'teardown' | 'recover' | 'destroy';

/** A component that does nothing but write down what was asked of it, and fails where told to. */
class Recorder implements Component {
  create?: (ctx: ComponentContext) => Promise<void>;

  constructor(
    readonly name: string,
    private readonly calls: string[],
    private readonly fails: Partial<Record<Step, boolean>> = {},
    withCreate = true,
  ) {
    if (withCreate) this.create = () => this.step('create');
  }

  private async step(step: Step): Promise<void> {
    await Promise.resolve();
    this.calls.push(`${step} ${this.name}`);
    if (this.fails[step]) throw new Error(`${this.name} broke in ${step}`);
  }

  async prepare(): Promise<SpecContribution> {
    await this.step('prepare');
    return { [this.name]: `/made/by/${this.name}` };
  }
  teardown = (): Promise<void> => this.step('teardown');
  recover = (): Promise<void> => this.step('recover');
  destroy = (): Promise<void> => this.step('destroy');
}

/** The context, with the log lines it gets kept for inspection. */
function context(stateRoot = '/nonexistent/state', runtimeRoot = '/nonexistent/run') {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger('info', {
    write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>),
  });
  const spec = sampleRecord().spec;
  const ctx: ComponentContext = {
    spec,
    state: {},
    layout: layoutOf(stateRoot, runtimeRoot, spec.id),
    vmmUser: undefined,
    vmmOpensFiles: false,
    // As the reconciler gives it: the environment's own logger, whose lines name it.
    log: environmentLog(log, spec),
    journal: () => Promise.resolve(),
  };
  return { ctx, lines };
}

const NAMES = ['disk', 'console', 'runtime-dir'];

describe('prepareAll', () => {
  it('prepares in order and merges what each contributes', async () => {
    const calls: string[] = [];
    const { ctx } = context();
    const spec = await prepareAll(
      NAMES.map((n) => new Recorder(n, calls)),
      ctx,
    );
    expect(calls).toEqual(['prepare disk', 'prepare console', 'prepare runtime-dir']);
    expect(spec).toEqual({ disk: '/made/by/disk', console: '/made/by/console', 'runtime-dir': '/made/by/runtime-dir' });
  });

  it.each(NAMES.map((name, k) => [k, name] as const))(
    'when component %i (%s) fails to prepare, only the ones before it are torn down, in reverse',
    async (k, name) => {
      const calls: string[] = [];
      const { ctx } = context();
      const components = NAMES.map((n, i) => new Recorder(n, calls, { prepare: i === k }));
      const error = await prepareAll(components, ctx).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PrepareError);
      expect((error as PrepareError).component).toBe(name);
      expect((error as PrepareError).message).toBe(`${name}: ${name} broke in prepare`);
      expect((error as PrepareError).cause).toBeInstanceOf(Error);
      const prepared = NAMES.slice(0, k);
      expect(calls).toEqual([
        ...prepared.map((n) => `prepare ${n}`),
        `prepare ${name}`,
        ...[...prepared].reverse().map((n) => `teardown ${n}`),
      ]);
    },
  );

  it('still reports the prepare failure when a teardown of the undo fails too', async () => {
    const calls: string[] = [];
    const { ctx, lines } = context();
    const components = [
      new Recorder('disk', calls),
      new Recorder('console', calls, { teardown: true }),
      new Recorder('runtime-dir', calls, { prepare: true }),
    ];
    await expect(prepareAll(components, ctx)).rejects.toMatchObject({ component: 'runtime-dir' });
    expect(calls.slice(-2)).toEqual(['teardown console', 'teardown disk']);
    expect(lines.some((l) => l.msg === 'teardown left something behind')).toBe(true);
  });
});

describe('teardownAll', () => {
  it('tears down in reverse and goes on past one that throws, logging it', async () => {
    const calls: string[] = [];
    const { ctx, lines } = context();
    const components = NAMES.map((n) => new Recorder(n, calls, { teardown: n === 'runtime-dir' }));
    await teardownAll(components, ctx);
    expect(calls).toEqual(['teardown runtime-dir', 'teardown console', 'teardown disk']);
    const warning = lines.find((l) => l.msg === 'teardown left something behind');
    expect(warning).toMatchObject({ env: ctx.spec.id, failures: ['runtime-dir: runtime-dir broke in teardown'] });
  });

  it('logs nothing when every teardown works', async () => {
    const { ctx, lines } = context();
    await teardownAll(
      NAMES.map((n) => new Recorder(n, [])),
      ctx,
    );
    expect(lines).toEqual([]);
  });
});

describe('runEach', () => {
  it('creates and recovers in order, destroys in reverse, and skips a component without create', async () => {
    const calls: string[] = [];
    const { ctx } = context();
    const components = NAMES.map((n) => new Recorder(n, calls, {}, n !== 'console'));
    await runEach(components, 'create', ctx);
    expect(calls.splice(0)).toEqual(['create disk', 'create runtime-dir']);
    await runEach(components, 'recover', ctx);
    expect(calls.splice(0)).toEqual(['recover disk', 'recover console', 'recover runtime-dir']);
    await runEach(components, 'destroy', ctx);
    expect(calls.splice(0)).toEqual(['destroy runtime-dir', 'destroy console', 'destroy disk']);
  });

  it('does not reorder the caller’s list', async () => {
    const components = NAMES.map((n) => new Recorder(n, []));
    await runEach(components, 'destroy', context().ctx);
    expect(components.map((c) => c.name)).toEqual(NAMES);
  });
});

/** A component with the hooks of a live VM, writing down what it was given. */
class Hooked implements Component {
  constructor(
    readonly name: string,
    private readonly calls: string[],
    private readonly failing?: 'afterLaunch' | 'onReattach' | 'beforeStop' | 'init',
  ) {}
  private async hook(hook: string, vm?: LiveVm): Promise<void> {
    await Promise.resolve();
    this.calls.push(`${hook} ${this.name}${vm ? ` session:${String(vm.session.available)}` : ''}`);
    if (this.failing === hook) throw new Error(`${this.name} broke in ${hook}`);
  }
  init = async (ctx: ComponentContext): Promise<void> => {
    await this.hook('init');
    if (this.failing === 'init') return;
    // Its own key only; a real component's schema is in record.ts.
    ctx.state.network = { host: 2, mac: '52:54:00:00:00:02', isolated: false };
  };
  afterLaunch = (_: ComponentContext, vm: LiveVm) => this.hook('afterLaunch', vm);
  onReattach = (_: ComponentContext, vm: LiveVm) => this.hook('onReattach', vm);
  beforeStop = (_: ComponentContext, vm: LiveVm) => this.hook('beforeStop', vm);
  prepare = (): Promise<SpecContribution> => Promise.resolve({});
  teardown = (): Promise<void> => Promise.resolve();
  recover = (): Promise<void> => Promise.resolve();
  destroy = (): Promise<void> => Promise.resolve();
}

describe('initAll', () => {
  it('lets each component store its own state, in order, and stops at the first failure', async () => {
    const calls: string[] = [];
    const { ctx } = context();
    const create = { image: {} as CreateInputs['image'], isolated: false };
    await initAll([new Hooked('network', calls), new Recorder('disk', calls)], ctx, create);
    expect(calls).toEqual(['init network']);
    expect(ctx.state).toEqual({ network: { host: 2, mac: '52:54:00:00:00:02', isolated: false } });
    const refusing = new Hooked('host-keys', calls);
    refusing.init = () => Promise.reject(new DomainError('unavailable', 'no ssh-keygen'));
    calls.length = 0;
    await expect(initAll([refusing, new Hooked('after', calls)], ctx, create)).rejects.toMatchObject({
      kind: 'unavailable',
      message: 'no ssh-keygen',
    });
    expect(calls).toEqual([]);
  });
});

describe('runHook', () => {
  it('runs after launch and on reattach in order, before stop in reverse, each with the guest session', async () => {
    const calls: string[] = [];
    const { ctx } = context();
    const session = new GuestSession({ endpoint: undefined, log: ctx.log });
    const components = [new Hooked('network', calls), new Recorder('disk', calls), new Hooked('ports', calls)];
    await runHook(components, 'afterLaunch', ctx, { session });
    await runHook(components, 'onReattach', ctx, { session });
    await runHook(components, 'beforeStop', ctx, { session });
    expect(calls).toEqual([
      'afterLaunch network session:false',
      'afterLaunch ports session:false',
      'onReattach network session:false',
      'onReattach ports session:false',
      'beforeStop ports session:false',
      'beforeStop network session:false',
    ]);
  });

  it('goes on past a failing hook, logging and journaling it (the VM runs already)', async () => {
    const calls: string[] = [];
    const journal: string[] = [];
    const { ctx, lines } = context();
    ctx.journal = (event, message) => {
      journal.push(`${event}: ${message}`);
      return Promise.resolve();
    };
    const session = new GuestSession({ endpoint: undefined, log: ctx.log });
    await runHook([new Hooked('a', calls, 'afterLaunch'), new Hooked('b', calls)], 'afterLaunch', ctx, { session });
    expect(calls).toEqual(['afterLaunch a session:false', 'afterLaunch b session:false']);
    expect(journal).toEqual(['component-hook-failed: a afterLaunch: a broke in afterLaunch']);
    expect(lines).toEqual([
      expect.objectContaining({ msg: 'component hook failed', component: 'a', hook: 'afterLaunch', env: ctx.spec.id }),
    ]);
  });
});

describe('with the real runtime-dir and console components', () => {
  let root: Awaited<ReturnType<typeof scratch>>;
  beforeEach(async () => {
    root = await scratch('hearth-pipeline-');
  });
  afterEach(() => root.done());

  it('a failure after them removes the runtime directory they made', async () => {
    const { ctx } = context(join(root.dir, 'state'), join(root.dir, 'run'));
    await mkdir(ctx.layout.stateDir, { recursive: true });
    const calls: string[] = [];
    const components = [
      new ConsoleComponent(),
      new RuntimeDirComponent(),
      new Recorder('network', calls, { prepare: true }),
    ];
    await expect(prepareAll(components, ctx)).rejects.toMatchObject({ component: 'network' });
    await expect(access(ctx.layout.runtimeDir)).rejects.toMatchObject({ code: 'ENOENT' });
    // The console keeps its file (teardown is a no-op for it): it is the record of what happened.
    expect(await readFile(ctx.layout.console, 'utf8')).toBe('');
    expect((await stat(ctx.layout.console)).mode & 0o777).toBe(0o600);
  });

  it('prepares them into a root-only runtime directory and console file', async () => {
    const { ctx } = context(join(root.dir, 'state'), join(root.dir, 'run'));
    await mkdir(ctx.layout.stateDir, { recursive: true });
    const spec = await prepareAll([new ConsoleComponent(), new RuntimeDirComponent()], ctx);
    expect(spec).toEqual({ consoleFile: ctx.layout.console, runtimeDir: ctx.layout.runtimeDir });
    expect((await stat(ctx.layout.runtimeDir)).mode & 0o777).toBe(0o700);
    await runEach([new ConsoleComponent(), new RuntimeDirComponent()], 'destroy', ctx);
    await expect(access(ctx.layout.console)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(access(ctx.layout.runtimeDir)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
