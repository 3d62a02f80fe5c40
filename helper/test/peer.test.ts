import { spawn } from 'node:child_process';
import { fstatSync, openSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { identifyPeer, parseProcStatus } from '../src/api/peer.js';
import { loadSockopt, type Sockopt } from '../src/api/sockopt.js';
import { NEEDS_ROOT, skipWhen } from './support/skip.js';

const status = (uid: string, gid: string, groups: string, name = 'curl') =>
  `Name:\t${name}\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t42\nPid:\t42\nPPid:\t1\n` +
  `Uid:\t${uid}\nGid:\t${gid}\nFDSize:\t64\nGroups:\t${groups}\nNStgid:\t42\n`;

describe('/proc/<pid>/status parsing', () => {
  it('names a caller whose four uids agree, with primary and supplementary groups', () => {
    expect(parseProcStatus(status('1000\t1000\t1000\t1000', '1000\t1000\t1000\t1000', '27 1000 990 '))).toEqual({
      uid: 1000,
      gids: [27, 990, 1000],
    });
    expect(parseProcStatus(status('0\t0\t0\t0', '0\t0\t0\t0', ''))).toEqual({ uid: 0, gids: [0] });
  });

  it('names nobody when real, effective, saved and filesystem uid differ (setuid programs)', () => {
    expect(parseProcStatus(status('1000\t0\t0\t0', '1000\t1000\t1000\t1000', ''))).toBeUndefined();
    expect(parseProcStatus(status('0\t1000\t1000\t1000', '0\t0\t0\t0', ''))).toBeUndefined();
    expect(parseProcStatus(status('1000\t1000\t1000\t0', '1000\t1000\t1000\t1000', ''))).toBeUndefined();
  });

  it("leaves out a setgid program's borrowed gid, keeps the supplementary groups", () => {
    expect(parseProcStatus(status('1000\t1000\t1000\t1000', '1000\t5\t5\t5', '1000 24'))).toEqual({
      uid: 1000,
      gids: [24, 1000],
    });
  });

  it('refuses what is not a status file it understands', () => {
    const good = status('7\t7\t7\t7', '7\t7\t7\t7', '');
    expect(parseProcStatus('')).toBeUndefined();
    expect(parseProcStatus(good.replace(/^Groups:.*\n/m, ''))).toBeUndefined();
    expect(parseProcStatus(good.replace('Uid:\t7\t7\t7\t7', 'Uid:\t7\t7\t7'))).toBeUndefined();
    expect(parseProcStatus(good.replace('Uid:\t7\t7\t7\t7', 'Uid:\t-1\t-1\t-1\t-1'))).toBeUndefined();
    expect(
      parseProcStatus(good.replace('Uid:\t7\t7\t7\t7', 'Uid:\t4294967295\t4294967295\t4294967295\t4294967295')),
    ).toBeUndefined();
    expect(parseProcStatus(good.replace('Gid:\t7\t7\t7\t7', 'Gid:\tx\t7\t7\t7'))).toBeUndefined();
    // A second Uid line (the kernel writes one) is not resolved by picking either.
    expect(parseProcStatus(`${good}Uid:\t0\t0\t0\t0\n`)).toBeUndefined();
    // A name cannot start a line (the kernel escapes it), and one that mentions uids changes nothing.
    expect(parseProcStatus(status('7\t7\t7\t7', '7\t7\t7\t7', '', 'Uid:\t0\t0\t0\t0'))).toEqual({ uid: 7, gids: [7] });
  });
});

/** A stand-in for the native call, to reach the branches a live kernel rarely takes. */
function fakeSockopt(pid: number, pidfd: number | Error): Sockopt {
  return {
    getsockopt: (_fd, level, name) => {
      expect(level).toBe(1);
      if (name === 17) return pid;
      if (pidfd instanceof Error) throw pidfd;
      return pidfd;
    },
  };
}

describe('identifying the peer from its pid (fake /proc)', () => {
  let proc: string;
  const socket = { _handle: { fd: 3 } } as unknown as Socket;
  beforeAll(async () => {
    proc = await mkdtemp(join(tmpdir(), 'hearth-proc-'));
    await mkdir(join(proc, '4242'));
    await writeFile(join(proc, '4242', 'status'), status('1000\t1000\t1000\t1000', '1000\t1000\t1000\t1000', ''));
    await mkdir(join(proc, 'self', 'fdinfo'), { recursive: true });
  });
  afterAll(() => rm(proc, { recursive: true, force: true }));

  const withPidfd = async (fdinfoPid: string) => {
    const fd = openSync('/dev/null', 'r');
    await writeFile(join(proc, 'self', 'fdinfo', String(fd)), `pos:\t0\nflags:\t02000002\nPid:\t${fdinfoPid}\n`);
    const caller = await identifyPeer(fakeSockopt(4242, fd), socket, proc);
    expect(() => fstatSync(fd)).toThrow(/EBADF/); // the pidfd was closed
    return caller;
  };

  it('trusts the status read only while the pidfd still names the same pid', async () => {
    expect(await withPidfd('4242')).toEqual({ uid: 1000, gids: [1000] });
    expect(await withPidfd('-1')).toBeUndefined(); // reaped meanwhile: the pid may be someone else's
  });

  it('falls back to the pid alone where the kernel has no SO_PEERPIDFD, and nowhere else', async () => {
    const noProtoOpt = new TypeError('getsockopt failed: Protocol not available (92)');
    const old = fakeSockopt(4242, noProtoOpt);
    const asked = vi.spyOn(old, 'getsockopt');
    expect(await identifyPeer(old, socket, proc)).toEqual({ uid: 1000, gids: [1000] });
    expect(await identifyPeer(old, socket, proc)).toEqual({ uid: 1000, gids: [1000] });
    expect(asked.mock.calls.map((c) => c[2])).toEqual([17, 77, 17]); // learnt once that 77 is missing
    const gone = new TypeError('getsockopt failed: No such process (3)');
    expect(await identifyPeer(fakeSockopt(4242, gone), socket, proc)).toBeUndefined();
  });

  it('is unknown for a pid from another namespace (0), a vanished process, or no fd', async () => {
    expect(await identifyPeer(fakeSockopt(0, 1), socket, proc)).toBeUndefined();
    expect(await identifyPeer(fakeSockopt(999, new TypeError('(92)')), socket, proc)).toBeUndefined();
    expect(await identifyPeer(fakeSockopt(4242, 1), { _handle: null } as unknown as Socket, proc)).toBeUndefined();
  });
});

describe('identifying a real peer through the kernel', skipWhen(NEEDS_ROOT), () => {
  it("reports a nobody client's uid and groups", async () => {
    const sockopt = loadSockopt();
    const dir = await mkdtemp(join(tmpdir(), 'hearth-peer-'));
    await chmod(dir, 0o711);
    const path = join(dir, 's.sock');
    const seen = new Promise<unknown>((resolve) => {
      const server = createServer((socket) => {
        void identifyPeer(sockopt, socket).then((caller) => {
          socket.end();
          server.close();
          resolve(caller);
        });
      });
      server.listen(path, () => {
        void chmod(path, 0o666).then(() => {
          const argv = ['--reuid=65534', '--regid=65534', '--groups=65534,4', '--', process.execPath, '-e'];
          const connect = `require('net').connect(${JSON.stringify(path)})`;
          const script = `${connect}.on('data', () => {}).on('end', () => process.exit())`;
          spawn('setpriv', [...argv, script], { stdio: 'ignore' });
        });
      });
    });
    try {
      expect(await seen).toEqual({ uid: 65534, gids: [4, 65534] });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
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
      expect(missing.stderr).toContain(join(dir, 'sockopt.node'));
      await copyFile(join(bundle, 'sockopt.node'), join(dir, 'sockopt.node'));
      await chmod(join(dir, 'sockopt.node'), 0o666);
      const writable = await startIn(dir);
      expect(writable.code).toBe(1);
      expect(writable.stderr).toContain('writable by group or others (mode 666)');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
