import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Caller } from '../src/caller.js';
import { isAdmin, mayAct } from '../src/environments/access.js';
import { scratch } from './support/records.js';

describe('mayAct', () => {
  const root: Caller = { uid: 0, admin: true };
  const alice: Caller = { uid: 1000, admin: false };
  const admin: Caller = { uid: 1001, admin: true };
  const unknown: Caller = { uid: null, admin: false };

  // [caller, environment's owner, may act]
  it.each([
    ['root', root, 1000, true],
    ['root', root, null, true],
    ['the owner', alice, 1000, true],
    ['another user', alice, 1002, false],
    ['a user, on an environment of unknown owner', alice, null, false],
    ['an admin, on someone else’s', admin, 1000, false],
    ['an admin, on their own', admin, 1001, true],
    ['an unknown caller', unknown, 1000, false],
    ['an unknown caller, on an environment of unknown owner', unknown, null, false],
  ] as const)('%s (owner %s) → %s', (_, caller, owner, may) => {
    expect(mayAct(caller, owner)).toBe(may);
  });
});

describe('isAdmin', () => {
  let etc: Awaited<ReturnType<typeof scratch>>;
  beforeEach(async () => {
    etc = await scratch('hearth-etc-');
  });
  afterEach(() => etc.done());

  const group = (text: string) => writeFile(join(etc.dir, 'group'), text);

  it('is true for root whatever the group file says, even without one', async () => {
    expect(await isAdmin(0, [], etc.dir)).toBe(true);
  });

  it('is true for a process in hearth-admin, by gid as the kernel reported it', async () => {
    await group('root:x:0:\nkvm:x:104:\nhearth-admin:x:990:alice\nalice:x:1000:\n');
    expect(await isAdmin(1000, [1000, 990], etc.dir)).toBe(true);
    // The member list is not what counts: the kernel's groups are (a stale login is not admin).
    expect(await isAdmin(1000, [1000], etc.dir)).toBe(false);
    expect(await isAdmin(1001, [1001, 104], etc.dir)).toBe(false);
  });

  it('is false without the group, or without a group file', async () => {
    await group('root:x:0:\nhearth-admins:x:990:\n');
    expect(await isAdmin(1000, [990], etc.dir)).toBe(false);
    expect(await isAdmin(1000, [990], join(etc.dir, 'nonexistent'))).toBe(false);
  });

  it.each([
    ['an empty gid', 'hearth-admin:x::alice\n'],
    ['a gid that is not a number', 'hearth-admin:x:abc:alice\n'],
    ['a truncated line', 'hearth-admin:x\n'],
    ['a gid with junk around it', 'hearth-admin:x: 0x0:\n'],
  ])('is false for a malformed line (%s), even for a process in group 0', async (_, line) => {
    await group(`root:x:0:\n${line}`);
    expect(await isAdmin(1000, [0, 1000], etc.dir)).toBe(false);
  });
});
