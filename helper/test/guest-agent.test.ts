import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAgentMessage, type AgentMessage } from '../src/guest/agent-messages.js';
import { AGENT_SCRIPT, AGENT_UNIT_PATH, AGENT_VERSION } from '../src/guest/agent-script.js';
import { UsableJudge, fingerprintOf } from '../src/guest/usable.js';
import { seedFiles } from '../src/guest/user-data.js';
import { CREDENTIAL_HELPER_PATH, CREDENTIAL_HELPER_SCRIPT } from '../src/guest/credential-helper-script.js';
import { bakedFiles, recipeFor, recipeKey } from '../src/images/local-build/recipe.js';
import { parse } from 'yaml';

const run = promisify(execFile);

/**
 * The real agent (Python, as the guest runs it) reading a guest-like world: its own mount
 * namespace, where a passwd of the test's own is bound over /etc/passwd (a `dev` user with a home
 * under the test's directory), and its own network namespace, where port 22 is free until the
 * test listens on it. Its lines go through hearthd's schema check into the UsableJudge that
 * decides `running`: the two ends of the readiness report, against each other.
 */
const DEV_UID = 4242;

let dir: string;
let home: string;
let agentFile: string;
let ownerKey: string;
let otherKey: string;

async function makeKey(name: string): Promise<string> {
  const file = join(dir, name);
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${name}@test`, '-f', file]);
  return (await readFile(`${file}.pub`, 'utf8')).trim();
}

/**
 * One report of the agent (its `messages()`), in a namespace where `passwd` is /etc/passwd and,
 * with `listen`, something listens on port 22.
 */
async function agentReport(options: { passwd: string; listen: boolean }): Promise<AgentMessage[]> {
  const program = [
    'import importlib.machinery, socket, sys',
    "agent = importlib.machinery.SourceFileLoader('agent', sys.argv[1]).load_module()",
    'if sys.argv[2] == "listen":',
    '    s = socket.socket(socket.AF_INET6); s.bind(("::", 22)); s.listen()',
    'sys.stdout.write(agent.messages()[1].decode())',
  ].join('\n');
  const passwd = join(dir, `passwd-${Math.random().toString(36).slice(2)}`);
  await writeFile(passwd, options.passwd);
  const { stdout } = await run('unshare', [
    ...['--mount', '--net', '--fork', 'sh', '-c'],
    'mount --bind "$1" /etc/passwd && ip link set lo up && exec python3 -c "$2" "$3" "$4"',
    ...['sh', passwd, program, agentFile, options.listen ? 'listen' : 'quiet'],
  ]);
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const value = JSON.parse(line) as unknown;
      if (!isAgentMessage(value)) throw new Error(`the agent sent a line hearthd drops: ${line}`);
      return value;
    });
}

const passwdWithDev = () =>
  `root:x:0:0:root:/root:/bin/bash\ndev:x:${DEV_UID}:${DEV_UID}:Hearth developer:${home}:/bin/bash\n`;

function readiness(messages: AgentMessage[]) {
  const found = messages.find((m) => m.type === 'readiness');
  if (found?.type !== 'readiness') throw new Error('no readiness line');
  return found;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hearth-agent-'));
  await chmod(dir, 0o755);
  agentFile = join(dir, 'hearth-agent');
  await writeFile(agentFile, AGENT_SCRIPT, { mode: 0o755 });
  ownerKey = await makeKey('owner');
  otherKey = await makeKey('other');
  home = join(dir, 'home', 'dev');
  await mkdir(join(home, '.ssh'), { recursive: true });
  // As cloud-init writes them: the user's own, 0700 / 0600.
  await writeFile(
    join(home, '.ssh', 'authorized_keys'),
    `# a comment\nno-pty,from="10.0.0.0/8 x" ${otherKey}\n${ownerKey}\n`,
  );
  for (const [path, mode] of [
    [home, 0o755],
    [join(home, '.ssh'), 0o700],
    [join(home, '.ssh', 'authorized_keys'), 0o600],
  ] as const) {
    await chown(path, DEV_UID, DEV_UID);
    await chmod(path, mode);
  }
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the guest agent reports readiness facts it checked itself', () => {
  it('before the user exists: no user, no keys, no sshd — not usable; cloud-init is reported as before', async () => {
    const messages = await agentReport({ passwd: 'root:x:0:0:root:/root:/bin/bash\n', listen: false });
    expect(messages.map((m) => m.type)).toEqual(['readiness', 'status']);
    expect(readiness(messages)).toMatchObject({ agent: AGENT_VERSION, user: false, authorizedKeys: [], sshd: false });
    const judge = new UsableJudge({ sshPublicKey: ownerKey, hostKeys: [] });
    expect(messages.map((m) => judge.take(m))).toEqual([false, false]);
    expect(judge.missing()).toEqual([
      'the user dev',
      "the owner's key in dev's authorized_keys",
      'sshd listening on port 22',
    ]);
  });

  it("with the user, the owner's key (as ssh-keygen fingerprints it) and a listener on 22: usable", async () => {
    const messages = await agentReport({ passwd: passwdWithDev(), listen: true });
    const facts = readiness(messages);
    const printed = async (key: string) => {
      await writeFile(join(dir, 'k.pub'), key);
      return (await run('ssh-keygen', ['-l', '-f', join(dir, 'k.pub')])).stdout.split(' ')[1];
    };
    // The key behind options is found too; both in file order.
    expect(facts.authorizedKeys).toEqual([await printed(otherKey), await printed(ownerKey)]);
    expect(fingerprintOf(ownerKey)).toBe(await printed(ownerKey));
    expect(facts).toMatchObject({ user: true, sshd: true });
    const judge = new UsableJudge({ sshPublicKey: ownerKey, hostKeys: [] });
    expect(judge.take(facts)).toBe(true);
    // Another owner's key is not this one.
    const stranger = new UsableJudge({ sshPublicKey: await makeKey('stranger'), hostKeys: [] });
    expect(stranger.take(facts)).toBe(false);
    expect(stranger.missing()).toEqual(["the owner's key in dev's authorized_keys"]);
  });

  it('sshd must be listening, and the file must be one sshd would read (StrictModes)', async () => {
    expect(readiness(await agentReport({ passwd: passwdWithDev(), listen: false })).sshd).toBe(false);
    const keys = join(home, '.ssh', 'authorized_keys');
    await chmod(keys, 0o620);
    try {
      expect(readiness(await agentReport({ passwd: passwdWithDev(), listen: true })).authorizedKeys).toEqual([]);
    } finally {
      await chmod(keys, 0o600);
    }
    expect((await stat(keys)).mode & 0o777).toBe(0o600);
  });
});

describe('UsableJudge: which agent decides how', () => {
  const spec = { sshPublicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGm5Ijb8mS3n7j0K1q2w3e4r5t6y7u8i9o0p1a2s3d4f me' };
  const hostKey = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfTheGuestxxxxxxxxxxxxxxxxxxxxxxxxx';
  // Exactly what the version-1 agent (baked into older local images) sends: status lines only.
  const v1 = (cloudInit: string, stage: string | null) =>
    JSON.parse(
      `{"v": 1, "type": "status", "stage": ${JSON.stringify(stage)}, "cloudInit": "${cloudInit}", "errors": [], "hostKeys": []}`,
    ) as unknown;

  it('an older agent (announces no version, sends no readiness) is usable when cloud-init is done', () => {
    const judge = new UsableJudge(spec);
    const lines = [
      v1('waiting', null),
      v1('running', 'init'),
      v1('running', 'modules-final'),
      v1('done', 'modules-final'),
    ];
    expect(lines.every(isAgentMessage)).toBe(true);
    expect(lines.map((l) => judge.take(l as AgentMessage))).toEqual([false, false, false, true]);
    expect(judge.reportsReadiness).toBe(false);
  });

  it("a readiness-reporting agent is usable on its facts — cloud-init's end alone no longer makes it so", () => {
    const judge = new UsableJudge({
      ...spec,
      hostKeys: [{ type: 'ssh-ed25519', publicKey: hostKey, fingerprint: 'x' }],
    });
    const facts = (over: Partial<Extract<AgentMessage, { type: 'readiness' }>>): AgentMessage => ({
      v: 1,
      type: 'readiness',
      agent: AGENT_VERSION,
      user: true,
      authorizedKeys: [fingerprintOf(spec.sshPublicKey)],
      sshd: true,
      hostKeys: [hostKey],
      ...over,
    });
    expect(judge.take(facts({ sshd: false }))).toBe(false);
    expect(judge.take(v1('done', 'modules-final') as AgentMessage)).toBe(false);
    expect(judge.take(facts({ hostKeys: [] }))).toBe(false);
    expect(judge.missing()).toEqual(['the host keys hearthd made']);
    expect(judge.take(facts({}))).toBe(true);
    // Without an owner's key there is no key to look for.
    expect(new UsableJudge({}).take(facts({ authorizedKeys: [] }))).toBe(true);
  });

  it('the schema refuses a readiness line that does not announce a readiness version, or claims more', () => {
    const base = { v: 1, type: 'readiness', user: true, authorizedKeys: [], sshd: true, hostKeys: [] };
    expect(isAgentMessage({ ...base, agent: AGENT_VERSION })).toBe(true);
    expect(isAgentMessage({ ...base, agent: 1 })).toBe(false);
    expect(isAgentMessage(base)).toBe(false);
    expect(isAgentMessage({ ...base, agent: AGENT_VERSION, ready: true })).toBe(false);
    expect(isAgentMessage({ ...base, agent: AGENT_VERSION, authorizedKeys: ['SHA256:short'] })).toBe(false);
  });
});

describe("the seed's bootcmd (cloud images: no agent baked in)", () => {
  /** Runs the bootcmd as cloud-init does (its words as argv), with /usr/local/lib and PATH of its own. */
  async function bootcmd(): Promise<{
    agent: string;
    mode: number;
    helper: string;
    helperMode: number;
    systemdRun: string;
  }> {
    const userData = parse(
      seedFiles({ spec: { id: 'env-0123456789ab', name: 'web', hostKeys: [] }, hostPrivateKeys: {} })['user-data'],
    ) as { bootcmd: string[][] };
    const [command, ...args] = userData.bootcmd[0]!;
    const bin = join(dir, 'bin');
    await mkdir(bin, { recursive: true });
    // systemd-run is the one program it starts; here it records its arguments.
    await writeFile(join(bin, 'systemd-run'), `#!/bin/sh\nprintf '%s\\n' "$@" > ${join(dir, 'systemd-run.args')}\n`, {
      mode: 0o755,
    });
    const local = join(dir, 'usr-local-lib');
    await mkdir(local, { recursive: true });
    const probe = 'cat /usr/local/lib/hearth/hearth-agent; stat -c %a /usr/local/lib/hearth/hearth-agent';
    const { stdout } = await run('unshare', [
      ...['--mount', '--fork', 'sh', '-c'],
      `mount --bind "$1" /usr/local/lib && shift && PATH="${bin}:$PATH" "$@" && ${probe}`,
      ...['sh', local, command!, ...args],
    ]);
    const mode = Number.parseInt(stdout.trim().split('\n').at(-1)!, 8);
    return {
      agent: stdout.slice(0, stdout.trimEnd().lastIndexOf('\n') + 1),
      mode,
      // Written through the bind mount: the same files, seen from outside the namespace.
      helper: await readFile(join(local, 'hearth', 'git-credential-hearth'), 'utf8'),
      helperMode: (await stat(join(local, 'hearth', 'git-credential-hearth'))).mode & 0o7777,
      systemdRun: await readFile(join(dir, 'systemd-run.args'), 'utf8'),
    };
  }

  it('writes the agent (0755) and starts it as a transient unit without default dependencies', async () => {
    // The test's host has no baked agent (its unit file would rightly make the bootcmd do nothing).
    expect(existsSync(AGENT_UNIT_PATH)).toBe(false);
    const done = await bootcmd();
    expect(done.agent).toBe(AGENT_SCRIPT);
    expect(done.mode).toBe(0o755);
    // git's credential helper, next to it (its path is what the guest's git config names).
    expect(CREDENTIAL_HELPER_PATH).toBe('/usr/local/lib/hearth/git-credential-hearth');
    expect(done.helper).toBe(CREDENTIAL_HELPER_SCRIPT);
    expect(done.helperMode).toBe(0o755);
    expect(done.systemdRun.split('\n')).toEqual(
      expect.arrayContaining([
        '--no-block',
        '--unit=hearth-agent.service',
        'DefaultDependencies=no',
        'Restart=always',
        '/usr/bin/python3',
        '/usr/local/lib/hearth/hearth-agent',
      ]),
    );
  });
});

describe('local images bake the same agent and helper (images/local-build/recipe.ts)', () => {
  const mirrors = { mirror: 'http://deb.debian.org/debian', security: null };

  it('bakes this agent (protocol v2) and the credential helper, executable', () => {
    const files = new Map(bakedFiles(mirrors).map((f) => [f.path, f]));
    expect(files.get('/usr/local/lib/hearth/hearth-agent')).toEqual({
      path: '/usr/local/lib/hearth/hearth-agent',
      content: AGENT_SCRIPT,
      mode: 0o755,
    });
    expect(AGENT_SCRIPT).toContain(`VERSION = ${AGENT_VERSION}\nPROTOCOL = 2\n`);
    expect(files.get(CREDENTIAL_HELPER_PATH)).toEqual({
      path: CREDENTIAL_HELPER_PATH,
      content: CREDENTIAL_HELPER_SCRIPT,
      mode: 0o755,
    });
  });

  it("the build cache's key follows the baked files: another agent is another image", () => {
    const recipe = recipeFor(mirrors);
    const changed = {
      ...recipe,
      files: recipe.files.map((f) => (f.content === AGENT_SCRIPT ? { ...f, content: `${f.content}# v-next\n` } : f)),
    };
    expect(recipeKey(changed)).not.toBe(recipeKey(recipe));
    expect(recipeKey(recipeFor(mirrors))).toBe(recipeKey(recipe));
  });
});
