import type { InstallRequest, InstallRun, InstallStep, InstallStepId, InstallStepState } from '#protocol';
import { compareVersions } from './versions.js';

export interface InstallFacts {
  /** The hearthd version recorded by a previous install (installed.env), or null. */
  installedVersion: string | null;
  bundledVersion: string;
  /** Where progress lines are appended while the privileged script runs. */
  progressFile?: string;
  /** Scratch root instead of / (development and tests). */
  root?: string;
  /** Give socket access to this user (default: whoever authorized). */
  user?: string;
  /** Override the files the script installs (development: the repo's build output). */
  hearthd?: string;
  node?: string;
  /** The `hearth` command bundle (development: dist/cli/hearth.cjs). */
  cli?: string;
}

export interface InstallPlan {
  kind: InstallRun['kind'];
  steps: InstallStep[];
  /** Arguments for hearth-install.sh. */
  args: string[];
}

const TITLES: Record<InstallStepId, string> = {
  authorize: 'Get administrator rights (your password)',
  preflight: 'Check this machine',
  users: 'Create the hearth group and the hearth-vmm and hearth-git users',
  files: 'Install hearthd into /usr/lib/hearth',
  unit: 'Install the hearthd systemd unit',
  runtime: 'Create /run/hearth',
  access: 'Give you access to hearthd',
  service: 'Enable and start hearthd',
  socket: 'Wait for hearthd to answer',
  verify: 'Connect and check the version',
  stop: 'Stop hearthd and its environments',
  network: "Remove Hearth's network devices and firewall rules",
  data: 'Keep environments, images and settings',
  bootstrap: 'Bootstrap Debian 12 from the archive',
  packages: 'Install systemd, OpenSSH, git, cloud-init and the cloud kernel',
  agent: "Add Hearth's guest agent",
  disk: 'Make the disk image',
  import: 'Hand the image to hearthd',
  download: 'Download Cloud Hypervisor',
  'verify-digest': 'Check its SHA-256 digest',
  firmware: 'Install its firmware (CLOUDHV.fd)',
  'install-vmm': 'Install it for hearthd',
  link: 'Link /usr/local/bin/hearth to the hearth command',
  unlink: 'Remove the /usr/local/bin/hearth link',
};

const INSTALL_STEPS: InstallStepId[] = [
  'authorize',
  'preflight',
  'users',
  'files',
  'unit',
  'runtime',
  'access',
  'service',
  'socket',
  'verify',
];
const UNINSTALL_STEPS: InstallStepId[] = ['authorize', 'stop', 'network', 'service', 'files', 'users', 'data'];
/** The privileged jobs besides install itself: one prompt, the script's own steps, no version check after. */
const JOB_STEPS: Partial<Record<InstallRequest['action'], InstallStepId[]>> = {
  'build-image': ['authorize', 'bootstrap', 'packages', 'agent', 'disk', 'import'],
  'install-cloud-hypervisor': ['authorize', 'download', 'verify-digest', 'firmware', 'install-vmm'],
  // The script's default --link, /usr/local/bin/hearth: the AppImage's offer (the packages own /usr/bin/hearth).
  'link-cli': ['authorize', 'link'],
  'unlink-cli': ['authorize', 'unlink'],
};

/** Decides what a run is (install, upgrade, repair, uninstall), its steps and the script's arguments. */
export function planInstall(request: InstallRequest, facts: InstallFacts): InstallPlan {
  const step = (id: InstallStepId): InstallStep => ({ id, title: TITLES[id], state: 'pending' });
  const common = [
    ...(facts.root === undefined ? [] : ['--root', facts.root]),
    ...(facts.progressFile === undefined ? [] : ['--progress', facts.progressFile]),
  ];
  const job = JOB_STEPS[request.action];
  if (job !== undefined) {
    // These change what hearthd has, not hearthd itself: "install" is the closest kind.
    return { kind: 'install', steps: job.map(step), args: [request.action, ...common] };
  }
  if (request.action === 'uninstall') {
    const steps = UNINSTALL_STEPS.map(step);
    if (request.purge === true) {
      const data = steps.find((s) => s.id === 'data')!;
      data.title = 'Delete environments, images and settings';
    }
    const serviceStep = steps.find((s) => s.id === 'service')!;
    serviceStep.title = 'Disable and remove the hearthd unit';
    const filesStep = steps.find((s) => s.id === 'files')!;
    filesStep.title = 'Remove hearthd and its runtime directory';
    const usersStep = steps.find((s) => s.id === 'users')!;
    usersStep.title = 'Remove the hearth group and the hearth-vmm and hearth-git users';
    return {
      kind: 'uninstall',
      steps,
      args: ['uninstall', ...common, ...(request.purge === true ? ['--purge'] : [])],
    };
  }
  const installed = facts.installedVersion;
  const kind: InstallPlan['kind'] =
    installed === null ? 'install' : compareVersions(facts.bundledVersion, installed) > 0 ? 'upgrade' : 'repair';
  const steps = INSTALL_STEPS.map(step);
  if (kind === 'upgrade') {
    steps.find((s) => s.id === 'files')!.title = `Replace hearthd ${installed} with ${facts.bundledVersion}`;
    steps.find((s) => s.id === 'service')!.title = 'Restart hearthd (environments keep running)';
  }
  return {
    kind,
    steps,
    args: [
      'install',
      '--version',
      facts.bundledVersion,
      ...common,
      ...(facts.user === undefined ? [] : ['--user', facts.user]),
      ...(facts.hearthd === undefined ? [] : ['--hearthd', facts.hearthd]),
      ...(facts.node === undefined ? [] : ['--node', facts.node]),
      ...(facts.cli === undefined ? [] : ['--cli', facts.cli]),
    ],
  };
}

const RESULT_STATES = new Set<InstallStepState>(['changed', 'unchanged', 'skipped']);
const MAX_LOG_LINES = 1000;

/**
 * Folds one line of the script's output into the run: `::step`, `::result` and `::fail` move
 * steps along, `::progress <id> <percent> <message>` says how far a long one is; every other line
 * is log. Pure, so the UI state is a replay of the script's output.
 */
export function applyInstallerLine(run: InstallRun, line: string): InstallRun {
  const next: InstallRun = { ...run, steps: run.steps.map((s) => ({ ...s })), log: [...run.log, line] };
  if (next.log.length > MAX_LOG_LINES) next.log.splice(0, next.log.length - MAX_LOG_LINES);
  const progress = /^::progress (\S+) (\d{1,3}(?:\.\d+)?)(?: (.*))?$/.exec(line);
  if (progress) {
    const [, id, percent, message] = progress;
    const target = next.steps.find((s) => s.id === id);
    // Progress only moves a step that is running: a late line cannot revive a finished one.
    if (target?.state === 'running') {
      target.percent = Math.min(100, Number(percent));
      if (message !== undefined && message !== '') target.note = message;
    }
    return next;
  }
  const match = /^::(step|result|fail|done) (\S+)(?: (.*))?$/.exec(line);
  if (!match) return next;
  const [, kind, id, rest = ''] = match;
  const authorize = next.steps.find((s) => s.id === 'authorize');
  if (authorize?.state === 'pending' || authorize?.state === 'running') authorize.state = 'changed';
  const target = next.steps.find((s) => s.id === id);
  if (kind === 'step' && target) {
    target.state = 'running';
  } else if (kind === 'result' && target) {
    const [state = '', ...note] = rest.split(' ');
    if (RESULT_STATES.has(state as InstallStepState)) target.state = state as InstallStepState;
    if (note.length > 0) target.note = note.join(' ');
  } else if (kind === 'fail') {
    if (target) {
      target.state = 'failed';
      target.note = rest;
    }
    // The first failure is the cause; anything after it is a consequence.
    if (next.state !== 'failed') next.error = `${target?.title ?? id}: ${rest}`;
    next.state = 'failed';
  }
  return next;
}

export function newRun(plan: InstallPlan, action: InstallRequest['action'], now: number): InstallRun {
  return { action, kind: plan.kind, state: 'running', steps: plan.steps, log: [], startedAt: now };
}

/** Marks the step that was running (or the first pending one) as failed with `message`. */
export function failRun(run: InstallRun, message: string, now: number): InstallRun {
  const steps = run.steps.map((s) => ({ ...s }));
  const current = steps.find((s) => s.state === 'running') ?? steps.find((s) => s.state === 'pending');
  if (current) {
    current.state = 'failed';
    current.note = message;
  }
  return {
    ...run,
    steps,
    state: 'failed',
    error: run.error ?? (current ? `${current.title}: ${message}` : message),
    finishedAt: now,
  };
}
