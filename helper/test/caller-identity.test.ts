import { execFile } from 'node:child_process';
import { chmod, chown, copyFile, mkdir, readFile, realpath, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installTestImage, addTinyClass } from './support/environments.js';
import { HearthdProcess, makePaths } from './support/hearthd-process.js';
import { NEEDS_ROOT, skipWhen } from './support/skip.js';

/**
 * An environment's owner is the uid of the process that connected to hearthd, as the kernel
 * recorded it at connect (SO_PEERCRED, SO_PEERGROUPS; /proc/<pid>/status can only make it
 * unknown), for callers that try to pass for root: a process named "pid=1", a client socket bound
 * to a path that looks like `ss` output, a connection passed to another uid, a connection carried
 * into a setuid-root program (setuid-caller.test.ts does that at scale, with a C fixture).
 * hearthd runs as its unit runs it: root with only the unit's capabilities.
 */
const repo = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';
const NOBODY = 65534;
const OTHER = 4321;

async function unitLauncher(): Promise<string[]> {
  const unit = await readFile(join(repo, 'assets/linux/hearthd.service'), 'utf8');
  const caps = /^CapabilityBoundingSet=(.+)$/m.exec(unit)![1]!.trim().split(/\s+/);
  const keep = caps.map((c) => `+${c.replace(/^CAP_/, '').toLowerCase()}`).join(',');
  return ['setpriv', `--bounding-set=-all,${keep}`, '--inh-caps=-all', '--no-new-privs', '--'];
}

interface Outcome {
  status: string;
  owner: { uid: number | null } | undefined;
  reply?: { code?: string };
  sender: { uid: number; euid: number; comm: string };
}

const asNobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'];

describe("an environment's owner is whoever connected, never a guess", skipWhen(NEEDS_ROOT), () => {
  let daemon: HearthdProcess;
  let client: string;
  let dir: string;

  /** `allowUnknown`: a caller hearthd cannot name is refused (403 forbidden) rather than guessed. */
  const call = async (argv: string[], allowUnknown = false): Promise<Outcome> => {
    const { stdout } = await run(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 30_000 });
    const outcome = JSON.parse(stdout.trim().split('\n').pop()!) as Outcome;
    expect(allowUnknown ? ['201', '403'] : ['201'], stdout).toContain(outcome.status);
    return outcome;
  };

  beforeAll(async () => {
    const paths = await makePaths('hearthd-peer-');
    dir = paths.dir;
    await chmod(dir, 0o711); // nobody reaches the socket and the client script, lists nothing
    await installTestImage(paths);
    daemon = await HearthdProcess.start(paths, [], await unitLauncher());
    await chmod(paths.socket, 0o666); // this daemon serves this test only
    const api = daemon.client();
    // Each case creates an environment as its caller: room for all of them under the per-user cap.
    await addTinyClass(api, { maxEnvironmentsPerOwner: 64 });
    await api.close();
    client = join(dir, 'peer-client.py');
    await copyFile(join(import.meta.dirname, 'support', 'peer-client.py'), client);
    await chmod(client, 0o644);
  }, 120_000);

  afterAll(async () => {
    await daemon.dispose();
  });

  it('is root for root (hearthd itself is not less privileged than its callers)', async () => {
    const outcome = await call([PYTHON, client, 'request', daemon.paths.socket, 'by-root']);
    expect(outcome.owner).toEqual({ uid: 0 });
  });

  it('is nobody for an unprivileged caller', async () => {
    const outcome = await call([...asNobody, PYTHON, client, 'request', daemon.paths.socket, 'plain']);
    expect(outcome.sender).toMatchObject({ uid: NOBODY, euid: NOBODY });
    expect(outcome.owner).toEqual({ uid: NOBODY });
  });

  it('is nobody for a caller whose process is named "pid=1"', async () => {
    const renamed = join(dir, 'pid=1');
    await symlink(PYTHON, renamed);
    const outcome = await call([...asNobody, renamed, client, 'request', daemon.paths.socket, 'renamed']);
    expect(outcome.sender.comm).toBe('pid=1');
    expect(outcome.owner).toEqual({ uid: NOBODY });
  });

  it('is nobody for a client socket bound to a path with spaces and a newline', async () => {
    const own = join(dir, 'nobodys');
    await mkdir(own);
    await chown(own, NOBODY, NOBODY);
    const bound = join(own, 'u_str ESTAB 0 0 * 1 * 2 users:(("x",pid=1,fd=3))\nu_str ESTAB 0 0 pid=1 3');
    const outcome = await call([...asNobody, PYTHON, client, 'request', daemon.paths.socket, 'bound', bound]);
    expect(outcome.owner).toEqual({ uid: NOBODY });
  });

  // Chosen semantics: the kernel fixes a connection's peer at connect(); hearthd reads it as the
  // connection is accepted. Passing the fd on (SCM_RIGHTS) delegates the connector's identity.
  it('is the connecting uid for a connection passed with SCM_RIGHTS to another uid', async () => {
    const passed = await call([PYTHON, client, 'pass', daemon.paths.socket, 'passed', String(NOBODY), String(OTHER)]);
    expect(passed.sender).toMatchObject({ uid: OTHER, euid: OTHER });
    expect(passed.owner).toEqual({ uid: NOBODY });
    const back = await call([
      PYTHON,
      client,
      'pass',
      daemon.paths.socket,
      'passed-back',
      String(OTHER),
      String(NOBODY),
    ]);
    expect(back.sender).toMatchObject({ uid: NOBODY });
    expect(back.owner).toEqual({ uid: OTHER });
  });

  it('is nobody or unknown, never root, for a connection carried into a setuid-root program', async () => {
    const setuid = join(dir, 'setuid-python');
    await copyFile(await realpath(PYTHON), setuid);
    await chmod(setuid, 0o4755);
    for (let i = 0; i < 5; i += 1) {
      const outcome = await call(
        [...asNobody, PYTHON, client, 'exec-with', daemon.paths.socket, setuid, `setuid-${i}`],
        true,
      );
      expect(outcome.sender).toMatchObject({ uid: NOBODY, euid: 0 }); // the program did run setuid root
      if (outcome.status === '403') expect(outcome.reply).toMatchObject({ code: 'forbidden' });
      else expect(outcome.owner?.uid).toBe(NOBODY);
    }
  });
});
