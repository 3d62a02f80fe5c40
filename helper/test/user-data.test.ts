import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { AGENT_SCRIPT } from '../src/guest/agent-script.js';
import { seedFiles } from '../src/guest/user-data.js';
import { skipWhen } from './support/skip.js';

/** The seed as cloud-init reads it: with PyYAML, which speaks YAML 1.1. */
function asCloudInit(text: string): unknown {
  const program = 'import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin.read())))';
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', program], { input: text, encoding: 'utf8' }));
}

describe('the seed as cloud-init reads it (YAML 1.1)', () => {
  // A MAC of decimal digits only is a base-60 integer in YAML 1.1: cloud-init then failed with
  // "'int' object has no attribute 'lower'" (seen in CI); `yes` would be a boolean.
  const spec = {
    id: 'env-0123456789ab',
    name: 'yes',
    network: { host: 2, mac: '52:54:00:46:03:37', isolated: false },
    sshPublicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBnKq 0777',
    hostKeys: [],
  };
  const files = seedFiles({ spec, hostPrivateKeys: {} });

  it(
    'keeps every string a string: MAC, hostname, key',
    skipWhen(
      hasPyYaml() ? undefined : 'python3-yaml is missing: the test reads the seed with PyYAML, as cloud-init does',
    ),
    () => {
      const network = asCloudInit(files['network-config']) as {
        ethernets: Record<string, { match: { macaddress: unknown } }>;
      };
      expect(Object.values(network.ethernets).map((e) => e.match.macaddress)).toEqual(['52:54:00:46:03:37']);
      expect(asCloudInit(files['meta-data'])).toMatchObject({ 'local-hostname': 'yes' });
      expect(JSON.stringify(asCloudInit(files['user-data']))).toContain(spec.sshPublicKey);
      expect(files['user-data'].startsWith('#cloud-config\n')).toBe(true);
      // The agent's script reaches bootcmd as one word, byte for byte.
      const userData = asCloudInit(files['user-data']) as { bootcmd: string[][] };
      expect(userData.bootcmd[0]![4]).toBe(AGENT_SCRIPT);
    },
  );
});

function hasPyYaml(): boolean {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import yaml'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
