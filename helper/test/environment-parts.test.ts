import { mkdtemp, readFile, rm, stat, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { admit } from '../src/environments/admission.js';
import { cleanConsoleText, rotateIfLarge, tailLines } from '../src/environments/log-files.js';
import { parseUser } from '../src/system/passwd.js';
import { parseEventMonitor } from '../src/vmm/cloud-hypervisor/event-monitor.js';

describe('admission', () => {
  const base = { requestMiB: 2048, maxEnvironments: 10, hostMemoryMiB: 16_384, reservedMiB: 1024, overheadMiB: 100 };

  it('admits while both limits hold', () => {
    expect(admit({ ...base, running: [2048, 2048] })).toBeUndefined();
  });

  it('refuses the (max+1)th environment, naming the limit', () => {
    const refusal = admit({ ...base, maxEnvironments: 3, running: [256, 256, 256] });
    expect(refusal).toEqual({
      code: 'conflict',
      message: '3 environments are already running and the limit is 3 (setting maxEnvironments); stop one first',
    });
  });

  it('never admits more than 10, whatever the setting says', () => {
    expect(
      admit({ ...base, maxEnvironments: 50, hostMemoryMiB: 1 << 20, running: Array(10).fill(64) })?.message,
    ).toContain('the limit is 10');
  });

  it('refuses memory it does not have, saying by how much', () => {
    // capacity 15360; 6 × 2148 = 12888 used; 2472 free; needs 2148 → fits. A 7th and 8th do not.
    expect(admit({ ...base, running: Array(6).fill(2048) })).toBeUndefined();
    const refusal = admit({ ...base, running: Array(7).fill(2048) });
    expect(refusal?.code).toBe('conflict');
    expect(refusal?.message).toContain('needs 2148 MiB (2048 MiB + 100 MiB overhead)');
    expect(refusal?.message).toContain('only 324 MiB of the 15360 MiB');
    expect(refusal?.message).toContain('short by 1824 MiB');
  });
});

describe('Cloud Hypervisor event monitor parsing', () => {
  it('reads pretty-printed objects separated by blank lines and keeps a torn tail for later', () => {
    const one = JSON.stringify(
      { timestamp: { secs: 0, nanos: 1 }, source: 'vmm', event: 'starting', properties: null },
      null,
      2,
    );
    const two = JSON.stringify(
      { timestamp: { secs: 1, nanos: 2 }, source: 'vm', event: 'booted', properties: null },
      null,
      2,
    );
    const torn = two.slice(0, 20);
    const parsed = parseEventMonitor(`${one}\n\n${torn}`);
    expect(parsed.events.map((e) => `${e.source}.${e.event}`)).toEqual(['vmm.starting']);
    expect(parsed.rest).toBe(torn);
    const whole = parseEventMonitor(`${one}\n\n${two}\n\n`);
    expect(whole.events.map((e) => e.event)).toEqual(['starting', 'booted']);
    expect(parseEventMonitor(`${one}\n\n${two}`).events).toHaveLength(2);
  });
});

describe('console and event log files', () => {
  it('rotates past the cap by copying only its tail and truncating, and tails across both parts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-logs-'));
    try {
      const file = join(dir, 'console.log');
      const rotated = join(dir, 'console.log.1');
      await writeFile(file, Array.from({ length: 100 }, (_, i) => `line ${i}`).join('\n') + '\n');
      expect(await rotateIfLarge(file, rotated, 100)).toBe(true);
      expect((await stat(file)).size).toBe(0);
      // Only the last 100 bytes are kept (from a line start): an endless file is never copied whole.
      const kept = await readFile(rotated, 'utf8');
      expect(kept.length).toBeLessThanOrEqual(100);
      expect(kept.split('\n')[0]).toBe('line 88');
      expect(kept.endsWith('line 99\n')).toBe(true);
      await appendFile(file, 'after 1\nafter 2\n');
      expect(await tailLines(file, rotated, 3)).toEqual(['line 99', 'after 1', 'after 2']);
      expect(await tailLines(file, rotated, 1)).toEqual(['after 2']);
      expect(await rotateIfLarge(file, rotated, 100)).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('strips terminal control sequences from console text', () => {
    expect(cleanConsoleText('\x1bc\x1b[?7l\x1b[2JHEARTH-GUEST-READY\r')).toBe('HEARTH-GUEST-READY');
    // Cursor moves, erase, scroll region, cursor save/restore, charset selection, NUL.
    expect(cleanConsoleText('\x1b[10;20H\x1b[K\x1b[1;24r\x1b7a\x1b8\x1b(Bb\0c')).toBe('abc');
    // Window titles and hyperlinks (OSC), ended by BEL or by ST.
    expect(cleanConsoleText('\x1b]0;root@guest: ~\x07prompt\x1b]8;;http://x\x1b\\link')).toBe('promptlink');
  });

  it('keeps colours (SGR) for the GUI to render', () => {
    const coloured = '\x1b[0;32m[  OK  ]\x1b[0m Started \x1b[1;39mssh.service\x1b[0m';
    expect(cleanConsoleText(`${coloured}\r`)).toBe(coloured);
    expect(cleanConsoleText('\x1b[38;5;208morange\x1b[m\x1b[2K')).toBe('\x1b[38;5;208morange\x1b[m');
  });
});

describe('the VMM user', () => {
  const passwd =
    'root:x:0:0:root:/root:/bin/bash\nhearth-vmm:x:998:997:Hearth VM processes:/var/lib/hearth:/usr/sbin/nologin\n';

  it('runs with the kvm group when it is a member (Node drops supplementary groups)', () => {
    const group = 'root:x:0:\nkvm:x:104:alice,hearth-vmm\nhearth-vmm:x:997:\n';
    expect(parseUser('hearth-vmm', passwd, group)).toEqual({ name: 'hearth-vmm', uid: 998, gid: 104 });
  });

  it('keeps its own group otherwise, and is unknown when absent', () => {
    expect(parseUser('hearth-vmm', passwd, 'kvm:x:104:alice\n')).toEqual({ name: 'hearth-vmm', uid: 998, gid: 997 });
    expect(parseUser('nobody-here', passwd, '')).toBeUndefined();
  });
});
