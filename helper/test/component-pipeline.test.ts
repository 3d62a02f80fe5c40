import { access, mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Component, ComponentContext, SpecContribution } from '../src/environments/components/component.js';
import { ConsoleComponent } from '../src/environments/components/console.js';
import { PrepareError, prepareAll, runEach, teardownAll } from '../src/environments/components/pipeline.js';
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
