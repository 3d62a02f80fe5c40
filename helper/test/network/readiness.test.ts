import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckId, HostReport } from '#protocol';
import { HearthdError } from '#protocol/client';
import { HearthdProcess, makePaths } from '../support/hearthd-process.js';
import { asUnit } from '../support/unit-profile.js';
import { inNs, Namespaces } from './support/topology.js';
import { NEEDS_ROOT, skipWhen } from '../support/skip.js';

/**
 * The network checks of a real hearthd (the built bundle, as the unit runs it) inside a
 * "workstation" namespace whose firewall and routes the test sets: what hearthd reports is what
 * it measured there, not what a fixture says.
 */
describe('network readiness in a workstation namespace', skipWhen(NEEDS_ROOT), () => {
  const nss = new Namespaces();
  let ws: string;
  let daemon: HearthdProcess | undefined;

  const report = async (): Promise<HostReport> => {
    const client = daemon!.client();
    try {
      return await client.call('getHost', { query: { fresh: true } });
    } finally {
      await client.close();
    }
  };
  const check = (r: HostReport, id: CheckId) => r.checks.find((c) => c.id === id)!;

  beforeAll(async () => {
    ws = await nss.add('rws');
    await nss.link(ws, 'up1', '192.0.2.1/24', await nss.add('rinet'), 'eth0', '192.0.2.2/24');
    const paths = await makePaths();
    daemon = await HearthdProcess.start(paths, [], ['ip', 'netns', 'exec', ws, ...asUnit()]);
  }, 60_000);

  afterAll(async () => {
    await daemon?.dispose();
    await nss.destroy();
  });

  it('passes both checks on a plain machine', async () => {
    const r = await report();
    expect(check(r, 'host-firewall').status).toBe('pass');
    expect(check(r, 'network-subnet')).toMatchObject({
      status: 'pass',
      detail: expect.stringContaining('10.131.0.0/24'),
    });
  });

  it('warns about a drop-policy forward chain of another table, with the command that lets hearth0 through', async () => {
    await inNs(ws, ['nft', 'add', 'table', 'ip', 'filter']);
    await inNs(ws, ['nft', 'add chain ip filter FORWARD { type filter hook forward priority 0; policy drop; }']);
    const r = await report();
    expect(check(r, 'host-firewall')).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining('ip filter FORWARD (policy drop)'),
      remedy: {
        command:
          'sudo nft insert rule ip filter FORWARD iifname "hearth0" accept && ' +
          'sudo nft insert rule ip filter FORWARD oifname "hearth0" ct state established,related accept',
      },
    });
    // Docker's table is answered in Docker's terms.
    await inNs(ws, ['nft', 'add', 'chain', 'ip', 'filter', 'DOCKER-USER']);
    expect(check(await report(), 'host-firewall').remedy?.command).toContain(
      'iptables -I DOCKER-USER -i hearth0 -j ACCEPT',
    );
    await inNs(ws, ['nft', 'delete', 'table', 'ip', 'filter']);
    expect(check(await report(), 'host-firewall').status).toBe('pass');
  });

  it('fails when the subnet overlaps a route, naming the route', async () => {
    await nss.link(ws, 'corp0', '10.131.0.0/16', await nss.add('rcorp'), 'eth0', null);
    const r = await report();
    expect(check(r, 'network-subnet')).toMatchObject({
      status: 'fail',
      detail: '10.131.0.0/24 overlaps the route 10.131.0.0/16 dev corp0',
    });
  });

  it('refuses a networkSubnet that overlaps a route, naming it, and takes a free one', async () => {
    const client = daemon!.client();
    try {
      const error = await client
        .call('updateConfig', { body: { networkSubnet: '10.131.7.0/24' } })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HearthdError);
      expect(error).toMatchObject({ status: 409, message: expect.stringContaining('10.131.0.0/16 dev corp0') });
      expect((await client.call('getConfig')).settings.networkSubnet).toBe('10.131.0.0/24');
      const view = await client.call('updateConfig', { body: { networkSubnet: '10.200.0.0/24' } });
      expect(view.settings.networkSubnet).toBe('10.200.0.0/24');
      expect(check(await report(), 'network-subnet').status).toBe('pass');
    } finally {
      await client.close();
    }
  });
});
