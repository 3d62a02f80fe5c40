// @vitest-environment jsdom
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConnectionStatus, EnvironmentClass, HearthApi, IpcResult } from '#protocol';
import { classErrors, draftOf, validateClass } from '../../src/features/settings/classForm.js';
import { SettingsPage } from '../../src/features/settings/SettingsPage.js';
import { HearthCallError } from '../../src/hearth.js';
import { usePushed } from '../../src/store.js';

const connected: ConnectionStatus = {
  state: 'connected',
  message: 'Connected',
  socket: '/run/hearth/hearthd.sock',
  version: {
    hearthd: '0.1.0',
    api: 'v1',
    apiRevision: 5,
    vmms: [{ kind: 'qemu', path: '/usr/bin/qemu-system-x86_64', version: '8.2.0' }],
  },
  bundledVersion: '0.1.0',
  upgradeAvailable: false,
  since: 0,
};

const small: EnvironmentClass = { name: 'small', description: 'Two CPUs', cpus: 2, memoryMiB: 4096, diskGiB: 20 };

/** A stand-in for main: answers the calls the settings page makes, and records the class writes. */
function fakeMain(admin: boolean, putAnswer?: IpcResult<unknown>) {
  const calls: Array<[string, unknown]> = [];
  const answers: Record<string, unknown> = {
    getCaller: { uid: admin ? 0 : 1000, admin },
    listClasses: { classes: [small] },
    getConfig: { settings: { hypervisor: 'auto', accel: 'auto' }, overriddenByFlags: [] },
    getVersion: connected.version,
    getHost: { verdict: 'degraded', checks: [{ id: 'kvm-device', status: 'fail', detail: '/dev/kvm is missing' }] },
    getAppInfo: { version: '0.1.0', shell: 'electron', autostart: false, trayAvailable: true, closeAction: 'tray' },
    getCliStatus: {
      command: '/usr/bin/hearth',
      target: '/usr/lib/hearth/hearth',
      installedPath: '/usr/lib/hearth/hearth',
      installed: true,
      linkPath: '/usr/local/bin/hearth',
      canLink: false,
      usage: 'hearth --help',
    },
    listImages: { images: [] },
    getCatalog: { entries: [] },
    listCredentials: { credentials: [] },
    listGitHostKeys: { hostKeys: [] },
    getProfile: { gitName: null, gitEmail: null },
    getSshSetup: {
      publicKey: null,
      keyPath: '/home/u/.config/hearth/id_ed25519',
      configPath: '/home/u/.config/hearth/ssh_config',
      userConfigPath: '/home/u/.ssh/config',
      include: 'absent',
      includeLine: 'Include "/home/u/.config/hearth/ssh_config"',
    },
  };
  const api: HearthApi = {
    invoke: (name, request) => {
      calls.push([name, request]);
      if (name === 'putClass' && putAnswer) return Promise.resolve(putAnswer as never);
      if (name === 'putClass') {
        const { params, body } = request as { params: { name: string }; body: Partial<EnvironmentClass> };
        return Promise.resolve({
          ok: true,
          value: { ...body, name: params.name, description: body.description ?? '' },
        } as never);
      }
      return Promise.resolve({ ok: true, value: answers[name] } as never);
    },
    on: () => () => undefined,
  };
  Object.defineProperty(window, 'hearth', { value: api, configurable: true });
  return calls;
}

const renderSettings = () =>
  render(
    <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
      <SettingsPage />
    </QueryClientProvider>,
  );

describe('class validation (the API schemas, in the window)', () => {
  it('names each wrong field with its rule, and passes a valid draft as the body', () => {
    const bad = validateClass({ name: 'Big_One', description: '', cpus: '0', memoryMiB: 'lots', diskGiB: '2.5' });
    expect('errors' in bad && bad.errors.fields).toEqual({
      name: expect.stringMatching(/lower-case letters/),
      cpus: 'A whole number of CPUs, 1 to 256.',
      memoryMiB: 'A whole number of MiB, 64 to 4194304.',
      diskGiB: 'A whole number of GiB, 1 to 4096.',
    });
    expect(validateClass({ ...draftOf(small), cpus: ' 4 ' })).toEqual({
      name: 'small',
      body: { description: 'Two CPUs', cpus: 4, memoryMiB: 4096, diskGiB: 20 },
    });
  });

  it("places hearthd's refusals on their field; what concerns no field goes to the form", () => {
    const fromHearthd = (code: string, message: string, details?: { path: string; message: string }[]) =>
      new HearthCallError({
        source: 'hearthd',
        status: 422,
        code: code as 'conflict',
        message,
        ...(details && { details }),
      });
    expect(
      classErrors(fromHearthd('unprocessable', 'Class x has 100 MiB of memory, below the minimum of 2048 MiB')).fields,
    ).toEqual({ memoryMiB: 'Class x has 100 MiB of memory, below the minimum of 2048 MiB' });
    expect(classErrors(fromHearthd('invalid-request', 'bad', [{ path: '/body/cpus', message: 'x' }])).fields).toEqual({
      cpus: 'A whole number of CPUs, 1 to 256.',
    });
    expect(classErrors(fromHearthd('conflict', 'Class small is used by 1 environment(s)')).form).toEqual({
      message: 'Class small is used by 1 environment(s)',
    });
  });
});

// jsdom has <dialog> but not its modal methods: the smallest stand-in (open state and the close event).
Object.assign(HTMLDialogElement.prototype, {
  showModal(this: HTMLDialogElement) {
    this.open = true;
  },
  close(this: HTMLDialogElement) {
    this.open = false;
    this.dispatchEvent(new Event('close'));
  },
});

describe('settings page', () => {
  beforeEach(() => usePushed.setState({ connection: connected, install: null }));
  afterEach(cleanup);

  it('shows a field error for an invalid class without calling hearthd, then saves a valid one', async () => {
    const calls = fakeMain(true);
    renderSettings();
    fireEvent.click(await screen.findByRole('button', { name: 'New class' }));
    const dialog = screen.getByTestId('class-dialog');
    fireEvent.change(within(dialog).getByLabelText('Name'), { target: { value: 'huge' } });
    fireEvent.change(within(dialog).getByLabelText('CPUs'), { target: { value: '0' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Create class' }));
    const error = await within(dialog).findByTestId('class-error-cpus');
    expect(error.textContent).toBe('A whole number of CPUs, 1 to 256.');
    expect(within(dialog).getByLabelText('CPUs').getAttribute('aria-invalid')).toBe('true');
    expect(within(dialog).getByLabelText('CPUs').getAttribute('aria-describedby')).toBe(error.id);
    expect(calls.some(([name]) => name === 'putClass')).toBe(false);

    fireEvent.change(within(dialog).getByLabelText('CPUs'), { target: { value: '8' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Create class' }));
    await waitFor(() => expect(screen.getByTestId('classes').querySelector('[data-class="huge"]')).not.toBeNull());
    expect(calls.find(([name]) => name === 'putClass')?.[1]).toEqual({
      params: { name: 'huge' },
      body: { cpus: 8, memoryMiB: 4096, diskGiB: 20 },
    });
  });

  it("shows hearthd's refusal on the field it concerns", async () => {
    fakeMain(true, {
      ok: false,
      error: {
        source: 'hearthd',
        status: 422,
        code: 'unprocessable',
        message: 'Class small has 64 vCPUs but this machine has 2; use at most 2',
      },
    });
    renderSettings();
    fireEvent.click(await screen.findByRole('button', { name: 'Edit small' }));
    const dialog = screen.getByTestId('class-dialog');
    expect(within(dialog).getByLabelText<HTMLInputElement>('Name').readOnly).toBe(true);
    fireEvent.change(within(dialog).getByLabelText('CPUs'), { target: { value: '64' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Save class' }));
    expect((await within(dialog).findByTestId('class-error-cpus')).textContent).toMatch(/this machine has 2/);
  });

  it('is read-only for a member, and says who can change it', async () => {
    fakeMain(false);
    renderSettings();
    await screen.findByText('small');
    // Classes, images and the hypervisor: each says so where it is read-only.
    await waitFor(() => expect(screen.getAllByTestId('admin-only')).toHaveLength(3));
    // The local build is gated by the password prompt, not by hearthd's admin role.
    expect(screen.getByTestId<HTMLButtonElement>('build-image').disabled).toBe(false);
    expect(screen.getAllByTestId('admin-only')[0]!.textContent).toContain(
      'Only root or members of hearth-admin can change this.',
    );
    expect(screen.queryByRole('button', { name: 'New class' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Edit small' })).toBeNull();
    const hypervisor = await screen.findByTestId('choice-hypervisor');
    expect((hypervisor as HTMLFieldSetElement).disabled).toBe(true);
  });

  it('an admin may change the hypervisor, and each choice says what it means here', async () => {
    const calls = fakeMain(true);
    renderSettings();
    const hypervisor = await screen.findByTestId('choice-hypervisor');
    expect((hypervisor as HTMLFieldSetElement).disabled).toBe(false);
    expect(hypervisor.textContent).toContain('Found: 8.2.0 at /usr/bin/qemu-system-x86_64');
    expect(hypervisor.textContent).toMatch(/Cloud Hypervisor — not available here/);
    await waitFor(() => expect(screen.getByTestId('choice-accel').textContent).toContain('/dev/kvm is missing'));
    fireEvent.click(within(hypervisor).getByLabelText('QEMU'));
    await waitFor(() =>
      expect(calls.find(([n]) => n === 'updateConfig')?.[1]).toEqual({ body: { hypervisor: 'qemu' } }),
    );
  });
});
