import type { EnvironmentLogEntry } from '#protocol';
import type { HearthdClient } from '#protocol/client';
import { waitForState } from '../../helper/test/support/environments.js';
import { startGitServer } from '../../helper/test/support/git-server/index.js';
import { addLocalAddress } from '../../helper/test/network/support/topology.js';

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A repository environment, from create to SSH: a test Git server (HTTPS with a token and its own
 * CA) on an address of the bench namespace's own, a token credential, and a create
 * with the repository; where the time goes, from hearthd's own event log: boot (create →
 * kernel), cloud-init (kernel → the agent finds the guest usable and the clone starts), clone,
 * agent-ready (cloned → running), and SSH (running → SSH answers, `sshAnswers`).
 */
export async function repositoryRun(
  client: HearthdClient,
  o: {
    ns: string;
    /** An address of the bench namespace's own (not on hearthd's bridge, which comes and goes with guests). */
    serverAddress: string;
    publicKey: string;
    cls: string;
    image: string;
    /** Resolves when SSH answers at `address`, with performance.now(). */
    sshAnswers: (address: string, alias: string, hostKeys: string[]) => Promise<number>;
  },
): Promise<void> {
  await addLocalAddress(o.ns, `${o.serverAddress}/32`);
  const git = await startGitServer({ netns: o.ns, address: o.serverAddress });
  try {
    await git.createRepository('app', { branches: ['main', 'feature'] });
    await client.call('addCredential', {
      body: { host: o.serverAddress, kind: 'token', token: git.https.token, caCertificate: git.https.caPem },
    });
    const t0 = performance.now();
    const wall0 = Date.now();
    await client.call('createEnvironment', {
      body: {
        name: 'bench-repo',
        class: o.cls,
        image: o.image,
        sshPublicKey: o.publicKey,
        repository: git.https.url('app'),
        ref: 'feature',
      },
    });
    let kernel: number | undefined;
    const watch = (async () => {
      while (kernel === undefined) {
        const lines = (await client.call('getEnvironmentLogs', { params: { id: 'bench-repo' }, query: { tail: 2000 } }))
          .lines;
        if (lines.some((l) => l.includes('Linux version'))) kernel = Date.now();
        else await sleep(200);
      }
    })();
    const running = await waitForState(client, 'bench-repo', 'running', 30 * 60_000);
    const runningAt = Date.now();
    await watch;
    const ssh = await o.sshAnswers(
      running.network!.address,
      running.ssh!.hostKeyAlias,
      running.ssh!.hostKeys.map((k) => k.publicKey),
    );
    const events = (
      await client.call('getEnvironmentLogs', { params: { id: 'bench-repo' }, query: { source: 'events', tail: 500 } })
    ).lines.map((l) => JSON.parse(l) as EnvironmentLogEntry);
    const at = (event: string) => Date.parse(events.find((e) => e.event === event)?.time ?? 'invalid');
    const started = at('clone-started');
    const cloned = at('cloned');
    console.log(`repository environment: create → SSH answers ${s(ssh - t0)} (commit ${running.repository?.commit})`);
    const phases: [string, number][] = [
      ['boot (create → kernel)', kernel! - wall0],
      ['cloud-init (kernel → clone starts)', started - kernel!],
      ['clone', cloned - started],
      ['agent-ready (cloned → running)', runningAt - cloned],
      ['SSH (running → answers)', ssh - t0 - (runningAt - wall0)],
    ];
    for (const [phase, ms] of phases) console.log(`  ${phase.padEnd(36)} ${s(ms)}`);
    await client.call('deleteEnvironment', { params: { id: 'bench-repo' } });
  } finally {
    await git.stop();
  }
}
