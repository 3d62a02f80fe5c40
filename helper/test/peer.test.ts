import { spawn } from 'node:child_process';
import { fstatSync, openSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { PeerIdentity as Caller } from '../src/caller.js';
import { identifyPeer, judgeCaller, parseProcStatus } from '../src/api/peer.js';
import {
  loadSocketCredentials,
  SockoptError,
  type PeerRecord,
  type SocketCredentials,
} from '../src/api/socket-credentials.js';
import { NEEDS_ROOT, skipWhen } from './support/skip.js';

const status = (uid: string, gid: string, groups = '', name = 'curl') =>
  `Name:\t${name}\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t42\nPid:\t42\nPPid:\t1\n` +
  `Uid:\t${uid}\nGid:\t${gid}\nFDSize:\t64\nGroups:\t${groups}\nNStgid:\t42\n`;
const same = (id: number) => `${id}\t${id}\t${id}\t${id}`;
const record = (uid: number, gid: number, groups: number[] = [], pid = 4242): PeerRecord => ({ pid, uid, gid, groups });

describe('/proc/<pid>/status parsing', () => {
  it('reads the four uids and gids', () => {
    expect(parseProcStatus(status('1000\t0\t0\t0', '1000\t5\t5\t5'))).toEqual({
      uids: [1000, 0, 0, 0],
      gids: [1000, 5, 5, 5],
    });
  });

  it('refuses what is not a status file it understands', () => {
    const good = status(same(7), same(7));
    expect(parseProcStatus('')).toBeUndefined();
    expect(parseProcStatus(good.replace('Uid:\t7\t7\t7\t7', 'Uid:\t7\t7\t7'))).toBeUndefined();
    expect(parseProcStatus(good.replace('Uid:\t7\t7\t7\t7', 'Uid:\t-1\t-1\t-1\t-1'))).toBeUndefined();
    expect(parseProcStatus(good.replace('Uid:\t7\t7\t7\t7', `Uid:\t${'4294967295\t'.repeat(4)}`))).toBeUndefined();
    expect(parseProcStatus(good.replace('Gid:\t7\t7\t7\t7', 'Gid:\tx\t7\t7\t7'))).toBeUndefined();
    // A second Uid line (the kernel writes one) is not resolved by picking either.
    expect(parseProcStatus(`${good}Uid:\t0\t0\t0\t0\n`)).toBeUndefined();
    // A name cannot start a line (the kernel escapes it), and one that mentions uids changes nothing.
    expect(parseProcStatus(status(same(7), same(7), '', 'Uid:\t0\t0\t0\t0'))?.uids).toEqual([7, 7, 7, 7]);
  });
});

describe("judging the kernel's record against the process's ids", () => {
  it('names the recorded uid with the recorded groups when the process agrees', () => {
    expect(judgeCaller(record(1000, 1000, [27, 1000, 990]), status(same(1000), same(1000), '27'))).toEqual({
      uid: 1000,
      gids: [27, 990, 1000],
    });
    expect(judgeCaller(record(0, 0), status(same(0), same(0)))).toEqual({ uid: 0, gids: [0] });
  });

  it('takes the groups from the record, never from the status read later', () => {
    // The process dropped group 27 and gained 0 after connecting: the record stands.
    expect(judgeCaller(record(1000, 1000, [27]), status(same(1000), same(1000), '0 1000'))).toEqual({
      uid: 1000,
      gids: [27, 1000],
    });
  });

  it('names nobody when the ids disagree among themselves or with the record', () => {
    // A setuid-root program that connected before dropping: the kernel recorded euid 0.
    expect(judgeCaller(record(0, 1000), status('1000\t0\t0\t0', same(1000)))).toBeUndefined();
    // ...and that dropped in full before hearthd looked.
    expect(judgeCaller(record(0, 1000), status(same(1000), same(1000)))).toBeUndefined();
    // A member's connection carried into a setuid-root program, read after it switched.
    expect(judgeCaller(record(1000, 1000), status('1000\t0\t0\t0', same(1000)))).toBeUndefined();
    expect(judgeCaller(record(1000, 1000), status(same(0), same(0)))).toBeUndefined();
    expect(judgeCaller(record(1000, 1000), status('1000\t1000\t1000\t0', same(1000)))).toBeUndefined();
  });

  it('leaves out a borrowed primary gid, keeps the recorded supplementary groups', () => {
    expect(judgeCaller(record(1000, 5, [24]), status(same(1000), '1000\t5\t5\t5'))).toEqual({
      uid: 1000,
      gids: [24],
    });
    expect(judgeCaller(record(1000, 1000, [24]), status(same(1000), same(5)))).toEqual({ uid: 1000, gids: [24] });
  });

  it('refuses ids that are no ids, and a status it cannot read', () => {
    expect(judgeCaller(record(0xffffffff, 7), status(same(0xffffffff), same(7)))).toBeUndefined();
    expect(judgeCaller(record(7, 7, [0xffffffff]), status(same(7), same(7)))).toBeUndefined();
    expect(judgeCaller(record(7, 7), '')).toBeUndefined();
  });
});

/** A stand-in for the kernel, to reach the branches a live kernel rarely takes. */
function fakeCredentials(peer: PeerRecord | Error, pidfd: number | undefined | Error): SocketCredentials {
  return {
    peer: () => {
      if (peer instanceof Error) throw peer;
      return peer;
    },
    peerPidfd: () => {
      if (pidfd instanceof Error) throw pidfd;
      return pidfd;
    },
  };
}

describe('identifying the peer (fake kernel, fake /proc)', () => {
  let proc: string;
  const socket = { _handle: { fd: 3 } } as unknown as Socket;
  const member = record(1000, 1000, [1000]);
  beforeAll(async () => {
    proc = await mkdtemp(join(tmpdir(), 'hearth-proc-'));
    await mkdir(join(proc, '4242'));
    await writeFile(join(proc, '4242', 'status'), status(same(1000), same(1000)));
    await mkdir(join(proc, 'self', 'fdinfo'), { recursive: true });
  });
  afterAll(() => rm(proc, { recursive: true, force: true }));

  const withPidfd = async (fdinfoPid: string) => {
    const fd = openSync('/dev/null', 'r');
    await writeFile(join(proc, 'self', 'fdinfo', String(fd)), `pos:\t0\nflags:\t02000002\nPid:\t${fdinfoPid}\n`);
    const caller = await identifyPeer(fakeCredentials(member, fd), socket, proc);
    expect(() => fstatSync(fd)).toThrow(/EBADF/); // the pidfd was closed
    return caller;
  };

  it('trusts the status read only while the pidfd still names the same pid', async () => {
    expect(await withPidfd('4242')).toEqual({ uid: 1000, gids: [1000] });
    expect(await withPidfd('-1')).toBeUndefined(); // reaped meanwhile: the pid may be someone else's
  });

  it('does without a pidfd where the kernel has no SO_PEERPIDFD, asking only once', async () => {
    const old = fakeCredentials(member, undefined);
    const asked = vi.spyOn(old, 'peerPidfd');
    expect(await identifyPeer(old, socket, proc)).toEqual({ uid: 1000, gids: [1000] });
    expect(await identifyPeer(old, socket, proc)).toEqual({ uid: 1000, gids: [1000] });
    expect(asked).toHaveBeenCalledTimes(1);
    // Any other failure (ESRCH: the connecting process is gone) leaves the caller unknown.
    expect(await identifyPeer(fakeCredentials(member, new SockoptError('SO_PEERPIDFD', 3)), socket, proc)).toBe(
      undefined,
    );
  });

  it('is unknown for a pid from another namespace (0), a vanished process, a failed read, or no fd', async () => {
    expect(await identifyPeer(fakeCredentials({ ...member, pid: 0 }, undefined), socket, proc)).toBeUndefined();
    expect(await identifyPeer(fakeCredentials({ ...member, pid: 999 }, undefined), socket, proc)).toBeUndefined();
    const failed = fakeCredentials(new SockoptError('SO_PEERCRED', 9), undefined);
    expect(await identifyPeer(failed, socket, proc)).toBeUndefined();
    const noFd = { _handle: null } as unknown as Socket;
    expect(await identifyPeer(fakeCredentials(member, undefined), noFd, proc)).toBeUndefined();
  });
});

describe('identifying a real peer through the kernel', skipWhen(NEEDS_ROOT), () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hearth-peer-'));
    await chmod(dir, 0o711);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /**
   * Serves one connection from `script` (run by Node, started by `launcher`): hearthd's own
   * identification, done once the client has written a byte (after any change it makes).
   */
  const identifyClient = async (name: string, launcher: string[], script: string): Promise<Caller | undefined> => {
    const credentials = loadSocketCredentials();
    const path = join(dir, `${name}.sock`);
    const seen = new Promise<Caller | undefined>((resolve, reject) => {
      const server = createServer((socket) => {
        socket.once('data', () => {
          void identifyPeer(credentials, socket).then((caller) => {
            socket.end();
            server.close();
            resolve(caller);
          }, reject);
        });
      });
      server.listen(path, () => {
        void chmod(path, 0o666).then(() => {
          const [command, ...args] = [...launcher, process.execPath, '-e', script, path];
          const client = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'] });
          client.once('error', reject);
        });
      });
    });
    return seen;
  };
  const connectAndWrite =
    "const s = require('net').connect(process.argv[1], () => s.write('x')); s.on('data', () => {}).on('end', () => process.exit())";

  it("reports a member's uid and the supplementary groups their session has", async () => {
    // Group 4 is not the member's in /etc/group: the kernel's record, not the group file, decides.
    const launcher = ['setpriv', '--reuid=65534', '--regid=65534', '--groups=65534,4', '--'];
    expect(await identifyClient('nobody', launcher, connectAndWrite)).toEqual({ uid: 65534, gids: [4, 65534] });
  });

  it('reads every group of a member in many (past the first buffer: ERANGE)', async () => {
    const groups = Array.from({ length: 300 }, (_, i) => 20_000 + i);
    const launcher = ['setpriv', '--reuid=65534', '--regid=65534', `--groups=${groups.join(',')}`, '--'];
    expect(await identifyClient('many', launcher, connectAndWrite)).toEqual({
      uid: 65534,
      gids: [...groups, 65534],
    });
  });

  it('keeps the groups the kernel recorded at connect, whatever the process does afterwards', async () => {
    // Root with group 4 connects, then takes groups 0 and 27 instead before hearthd looks.
    const changes =
      "process.setgroups([4]); const s = require('net').connect(process.argv[1], () => " +
      "{ process.setgroups([0, 27]); s.write('x'); }); s.on('data', () => {}).on('end', () => process.exit())";
    const asRoot: string[] = []; // no launcher: the script runs as root, as this test does
    expect(await identifyClient('regroup', asRoot, changes)).toEqual({ uid: 0, gids: [0, 4] });
  });
});

describe('the bundle loads its native module from beside itself only', () => {
  const bundle = join(import.meta.dirname, '..', '..', 'dist', 'helper');
  const startIn = async (dir: string) => {
    const child = spawn(
      process.execPath,
      [
        join(dir, 'hearthd.mjs'),
        '--socket',
        join(dir, 's.sock'),
        '--state-dir',
        join(dir, 'state'),
        '--runtime-dir',
        join(dir, 'run'),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    return { code, stderr };
  };

  it('refuses to start when it is missing or others could replace it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-bundle-'));
    try {
      await copyFile(join(bundle, 'hearthd.mjs'), join(dir, 'hearthd.mjs'));
      const missing = await startIn(dir);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain(`cannot load the native module`);
      expect(missing.stderr).toContain(join(dir, 'koffi.node'));
      await copyFile(join(bundle, 'koffi.node'), join(dir, 'koffi.node'));
      await chmod(join(dir, 'koffi.node'), 0o666);
      const writable = await startIn(dir);
      expect(writable.code).toBe(1);
      expect(writable.stderr).toContain('writable by group or others (mode 666)');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
