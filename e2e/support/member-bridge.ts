import { mkdir, chmod, chown, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import { URL_LINE } from '../../main/src/web/dev-web.js';

/**
 * The browser bridge as a user meets it: a separate process running as an ordinary, non-root
 * member of the `hearth` group (the group hearthd gives its socket, mode 0660), so hearthd
 * identifies the caller as that member, and ownership and permission-denied paths are real.
 */
export const MEMBER_USER = 'hearth-e2e';
/** hearthd's default --socket-group; the installer's sysusers snippet creates it on users' machines. */
export const SOCKET_GROUP = 'hearth';
/** The group hearthd takes for administrators (helper/src/environments/access.ts: ADMIN_GROUP). */
export const ADMIN_GROUP = 'hearth-admin';

/** Which test user to be: the plain member, or a second user who is also an administrator. */
export interface MemberKind {
  name: string;
  /** Groups beyond the socket group. */
  extraGroups: readonly string[];
  comment: string;
}
export const PLAIN_MEMBER: MemberKind = {
  name: MEMBER_USER,
  extraGroups: [],
  comment: 'Hearth e2e tests, the browser bridge as a hearth member',
};
/**
 * A user of its own rather than the member made admin: specs run in parallel and count on the
 * member not being one, and hearthd reads a caller's groups from the kernel at connect.
 */
export const ADMIN_MEMBER: MemberKind = {
  name: 'hearth-e2e-admin',
  extraGroups: [ADMIN_GROUP],
  comment: 'Hearth e2e tests, the browser bridge as a hearth-admin member',
};
const REPO = join(import.meta.dirname, '..', '..');
const DEV_WEB = join(REPO, 'main', 'src', 'web', 'dev-web.ts');
/** tsx compiles the bridge on start; two shared cores under a VM boot can make that slow. */
const START_MS = 60_000;

export interface Member {
  name: string;
  uid: number;
  gid: number;
  /** The socket group's gid: hearthd's socket must carry it for the member to connect. */
  socketGid: number;
  home: string;
}

async function getent(database: 'passwd' | 'group', key: string): Promise<string[] | undefined> {
  const result = await execa('getent', [database, key], { reject: false });
  return result.exitCode === 0 ? result.stdout.trim().split(':') : undefined;
}

/**
 * Runs `create` until `exists` holds. Parallel spec files race for the same user and group, and
 * useradd/groupadd fail while another holds the lock on /etc/passwd: re-check rather than fail.
 */
async function ensure(
  what: string,
  exists: () => Promise<boolean>,
  create: () => Promise<{ exitCode?: number | undefined; stderr: unknown }>,
) {
  let last = '';
  for (let attempt = 0; attempt < 20; attempt++) {
    if (await exists()) return;
    const result = await create();
    if (result.exitCode === 0) return;
    last = String(result.stderr);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`could not create ${what}: ${last}`);
}

const ensureGroup = (group: string) =>
  ensure(
    `group ${group}`,
    async () => (await getent('group', group)) !== undefined,
    () => execa('groupadd', ['--system', group], { reject: false }),
  );

/**
 * The `hearth` group and a test user in it (a system user with no login shell, home under
 * /var/tmp; by default the plain `hearth-e2e` member), created once per machine and reused. Needs
 * root. Call it before starting hearthd: hearthd assigns its socket to the group only if the group
 * exists when it starts.
 */
export async function ensureMember(kind: MemberKind = PLAIN_MEMBER): Promise<Member> {
  if (process.getuid?.() !== 0) throw new Error('the member bridge needs root to create and become its user');
  const groupNames = [SOCKET_GROUP, ...kind.extraGroups];
  for (const group of groupNames) await ensureGroup(group);
  const defaultHome = `/var/tmp/${kind.name}`;
  await ensure(
    `user ${kind.name}`,
    async () => (await getent('passwd', kind.name)) !== undefined,
    () =>
      execa(
        'useradd',
        [
          '--system',
          '--user-group',
          '--groups',
          groupNames.join(','),
          '--home-dir',
          defaultHome,
          '--no-create-home',
          '--shell',
          '/usr/sbin/nologin',
          '--comment',
          kind.comment,
          kind.name,
        ],
        { reject: false },
      ),
  );
  const [, , uid, gid, , home] = (await getent('passwd', kind.name))!;
  const socketGid = Number((await getent('group', SOCKET_GROUP))![2]);
  // A user made by an older run (or by hand) may lack a group: membership is the point.
  const groups = (await execa('id', ['-G', kind.name])).stdout.split(' ').map(Number);
  for (const group of groupNames) {
    const groupGid = Number((await getent('group', group))![2]);
    if (!groups.includes(groupGid)) await execa('usermod', ['--append', '--groups', group, kind.name]);
  }
  const member = { name: kind.name, uid: Number(uid), gid: Number(gid), socketGid, home: home ?? defaultHome };
  // /var/tmp may have been cleaned since the user was made; the home is the member's own.
  await mkdir(member.home, { recursive: true });
  await chown(member.home, member.uid, member.gid);
  await chmod(member.home, 0o700);
  return member;
}

export interface MemberBridge {
  /** The address with its one-time token, as dev:web reports it. */
  url: string;
  member: Member;
  pid: number;
  /** The bridge's stderr, for a failing test's message. */
  output: string[];
  close(): Promise<void>;
}

/** Uid and supplementary groups of a live process, as the kernel has them. */
export async function processIdentity(pid: number): Promise<{ uids: number[]; groups: number[] }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) =>
    (new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)?.[1] ?? '').split(/\s+/).filter(Boolean).map(Number);
  return { uids: field('Uid'), groups: field('Groups') };
}

/**
 * `npm run dev:web`'s entry, run as the member (setpriv with the member's groups from
 * /etc/group) against hearthd's `socket`; resolves once it serves, with the URL it printed.
 */
export async function startMemberBridge(socket: string, member?: Member): Promise<MemberBridge> {
  const who = member ?? (await ensureMember());
  const socketGid = (await stat(socket)).gid;
  if (socketGid !== who.socketGid)
    throw new Error(
      `${socket} has gid ${socketGid}, not ${SOCKET_GROUP} (${who.socketGid}): call ensureMember() before starting hearthd`,
    );
  // The socket's group is not enough: every directory above it must let the member through.
  const reach = await execa(
    'setpriv',
    [`--reuid=${who.uid}`, `--regid=${who.gid}`, '--init-groups', '--', 'test', '-r', socket, '-a', '-w', socket],
    { reject: false },
  );
  if (reach.exitCode !== 0)
    throw new Error(
      `${who.name} cannot open ${socket}: a directory above it is closed to others (makePaths uses 0711)`,
    );
  const child = execa(
    'setpriv',
    [
      `--reuid=${who.uid}`,
      `--regid=${who.gid}`,
      '--init-groups',
      '--',
      process.execPath,
      '--import',
      'tsx',
      DEV_WEB,
      '--socket',
      socket,
      '--url-stdout',
    ],
    {
      cwd: REPO,
      // What a login gives a user, nothing of root's environment.
      extendEnv: false,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: who.home,
        USER: who.name,
        LOGNAME: who.name,
        LANG: 'C.UTF-8',
      },
      stdin: 'ignore',
      reject: false,
      // dev:web closes its bridge and hearthd connection on SIGTERM; one that hangs is killed.
      forceKillAfterDelay: 5_000,
    },
  );
  const output: string[] = [];
  createInterface({ input: child.stderr }).on('line', (line) => output.push(line));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the member bridge did not serve within ${START_MS} ms:\n${output.join('\n')}`)),
      START_MS,
    );
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.startsWith(URL_LINE)) return;
      clearTimeout(timer);
      resolve(line.slice(URL_LINE.length));
    });
    void child.then((result) => {
      clearTimeout(timer);
      reject(new Error(`the member bridge exited with ${result.exitCode ?? result.signal}:\n${output.join('\n')}`));
    });
  }).catch(async (error: unknown) => {
    child.kill('SIGKILL');
    await child;
    throw error;
  });
  const pid = child.pid!;
  return {
    url,
    member: who,
    pid,
    output,
    async close() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await child;
    },
  };
}
