// @vitest-environment jsdom
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import type { ReactNode } from 'react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Environment, HearthApi, ImageInfo, SshSetup } from '#protocol';
import { AccessSlots } from '../../src/features/environment/AccessSlots.js';
import { CreateEnvironmentForm } from '../../src/features/environments/CreateEnvironmentForm.js';
import { usePushed } from '../../src/store.js';
import { environmentOf } from '../environment/fixtures.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHearthTestKeyHearthTestKeyHearthTestKey00 hearth u@box';

const setupOf = (publicKey: string | null, include: SshSetup['include'] = 'absent'): SshSetup => ({
  publicKey,
  keyPath: '/home/u/.config/hearth/id_ed25519',
  configPath: '/home/u/.config/hearth/ssh_config',
  userConfigPath: '/home/u/.ssh/config',
  include,
  includeLine: 'Include "/home/u/.config/hearth/ssh_config"',
});

const image = (name: string, provisioning: ImageInfo['provisioning']): ImageInfo => ({
  name,
  os: { id: 'debian', version: '12', pretty: name === 'debian-12' ? 'Debian 12 (bookworm)' : 'BusyBox test guest' },
  origin: 'local-build',
  bootMode: 'kernel',
  provisioning,
  sizeBytes: 2 * 1024 ** 3,
  readyMarker: null,
  installedAt: '2026-01-01T00:00:00.000Z',
  usedBy: 0,
});

function networked(state: Environment['state'], provisioning: Environment['provisioning']): Environment {
  return {
    ...environmentOf('env-00000000000a', state),
    image: 'debian-12',
    network: { address: '10.131.0.5', hostname: 'web.hearth', mac: '52:54:00:00:00:05', isolated: true },
    ssh: {
      user: 'dev',
      host: '10.131.0.5',
      port: 22,
      hostKeyAlias: 'hearth-env-00000000000a',
      hostKeys: [
        { type: 'ssh-ed25519', publicKey: 'ssh-ed25519 AAAA1', fingerprint: 'SHA256:edEDed' },
        { type: 'ecdsa-sha2-nistp256', publicKey: 'ecdsa-sha2-nistp256 AAAA2', fingerprint: 'SHA256:ecECec' },
      ],
    },
    provisioning,
  };
}

/** Main as these components meet it: the SSH setup it keeps, and the calls they make, recorded. */
function fakeMain(initial: SshSetup) {
  let setup = initial;
  const calls: Array<[string, unknown]> = [];
  const api: HearthApi = {
    invoke: (name, request) => {
      calls.push([name, request]);
      const value: Record<string, () => unknown> = {
        getSshSetup: () => setup,
        createSshKey: () => (setup = { ...setup, publicKey: KEY }),
        setSshInclude: () => (setup = { ...setup, include: 'present' }),
        listClasses: () => ({ classes: [{ name: 'small', description: '', cpus: 1, memoryMiB: 1024, diskGiB: 8 }] }),
        listImages: () => ({ images: [image('debian-12', 'cloud-init'), image('test-guest', 'none')] }),
        listEnvironments: () => ({ environments: [] }),
      };
      if (name === 'createEnvironment')
        return Promise.resolve({ ok: true, value: networked('creating', null) } as never);
      return Promise.resolve({ ok: true, value: value[name]?.() ?? null } as never);
    },
    on: () => () => undefined,
  };
  Object.defineProperty(window, 'hearth', { value: api, configurable: true });
  return calls;
}

const wrap = (node: ReactNode) =>
  render(
    <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
      {node}
    </QueryClientProvider>,
  );

beforeEach(() => {
  usePushed.setState({
    connection: {
      state: 'connected',
      message: '',
      socket: '/x',
      bundledVersion: '0',
      upgradeAvailable: false,
      since: 0,
    },
  });
});
afterEach(cleanup);

describe('the Access section', () => {
  it('shows address, host name, isolation, the SSH command and the host key fingerprints', async () => {
    fakeMain(setupOf(KEY, 'present'));
    wrap(<AccessSlots env={networked('running', { status: 'done', stage: 'final', error: null, updatedAt: '' })} />);
    expect(screen.getByTestId('access-address').textContent).toBe('10.131.0.5');
    expect(screen.getByTestId('access-hostname').textContent).toBe('web.hearth');
    expect(screen.getByTestId('access-isolation').textContent).toMatch(/^Isolated/);
    expect(screen.getByTestId('ssh-command').textContent).toBe('ssh web.hearth');
    expect(screen.getByRole('button', { name: 'Copy the SSH command' })).toBeTruthy();
    expect(screen.getByTestId('host-keys').textContent).toContain('SHA256:edEDed');
    expect(screen.getByTestId('host-keys').textContent).toContain('SHA256:ecECec');
    expect(screen.queryByTestId('provisioning')).toBeNull();
    // Key and Include in place: nothing to offer.
    await waitFor(() => expect(screen.queryByTestId('ssh-setup')).toBeNull());
  });

  it('offers the key and the Include while they are missing, and does them on request', async () => {
    const calls = fakeMain(setupOf(null));
    wrap(<AccessSlots env={networked('running', null)} />);
    fireEvent.click(await screen.findByRole('button', { name: 'Create SSH key' }));
    await waitFor(() => expect(screen.getByTestId('ssh-key').getAttribute('data-state')).toBe('present'));
    expect(screen.getByTestId('ssh-include').textContent).toContain('Include "/home/u/.config/hearth/ssh_config"');
    fireEvent.click(screen.getByRole('button', { name: 'Add the Include line' }));
    await waitFor(() => expect(screen.queryByTestId('ssh-setup')).toBeNull());
    expect(calls.filter(([n]) => n === 'setSshInclude')).toEqual([['setSshInclude', { enabled: true }]]);
  });

  it("shows cloud-init's stage while it starts, and its error when it failed", () => {
    fakeMain(setupOf(KEY, 'present'));
    const { rerender } = wrap(
      <AccessSlots
        env={networked('starting', { status: 'running', stage: 'modules-final', error: null, updatedAt: '' })}
      />,
    );
    expect(screen.getByTestId('provisioning').textContent).toContain('Setting it up (cloud-init): modules-final');
    rerender(
      <QueryClientProvider client={new QueryClient()}>
        <AccessSlots
          env={networked('failed', {
            status: 'error',
            stage: 'modules-final',
            error: 'package install failed: E: Unable to locate package nope',
            updatedAt: '',
          })}
        />
      </QueryClientProvider>,
    );
    const banner = screen.getByTestId('provisioning');
    expect(banner.getAttribute('role')).toBe('alert');
    expect(banner.textContent).toContain('at modules-final: package install failed: E: Unable to locate package nope');
  });

  it('says plainly that an image without provisioning has no network', () => {
    fakeMain(setupOf(KEY));
    wrap(<AccessSlots env={environmentOf('env-00000000000b', 'running')} />);
    expect(screen.getByTestId('access-no-network').textContent).toContain('test-guest');
    expect(screen.queryByTestId('ssh-command')).toBeNull();
  });
});

describe('the create form', () => {
  it("sends the user's public key and the isolation choice", async () => {
    const calls = fakeMain(setupOf(KEY));
    wrap(<CreateEnvironmentForm onDone={() => undefined} onCancel={() => undefined} />);
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'web' } });
    await screen.findByText(/it will accept your key/);
    fireEvent.click(screen.getByLabelText('Isolate its network'));
    fireEvent.click(screen.getByRole('button', { name: 'Create' }));
    await waitFor(() => expect(calls.some(([n]) => n === 'createEnvironment')).toBe(true));
    expect(calls.find(([n]) => n === 'createEnvironment')?.[1]).toEqual({
      body: { name: 'web', class: 'small', image: 'debian-12', sshPublicKey: KEY, isolated: true },
    });
  });

  it('offers to make a key when there is none, and sends neither for an image without a network', async () => {
    const calls = fakeMain(setupOf(null));
    wrap(<CreateEnvironmentForm onDone={() => undefined} onCancel={() => undefined} />);
    fireEvent.click(await screen.findByRole('button', { name: 'Create SSH key' }));
    await waitFor(() => expect(screen.getByTestId('create-ssh').getAttribute('data-key')).toBe('present'));
    fireEvent.change(screen.getByLabelText('Image'), { target: { value: 'test-guest' } });
    expect(screen.queryByLabelText('Isolate its network')).toBeNull();
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'box' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create' }));
    await waitFor(() => expect(calls.some(([n]) => n === 'createEnvironment')).toBe(true));
    expect(calls.find(([n]) => n === 'createEnvironment')?.[1]).toEqual({
      body: { name: 'box', class: 'small', image: 'test-guest' },
    });
  });
});
