// @vitest-environment jsdom
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CatalogEntry, HearthApi, ImageInfo, InstallRun, IpcResult } from '#protocol';
import { ImagesSection } from '../../src/features/images/ImagesSection.js';
import { applyImageEvent } from '../../src/features/images/queries.js';
import { usePushed } from '../../src/store.js';

const image = (name: string, usedBy: number): ImageInfo => ({
  name,
  os: { id: 'debian', version: '12', pretty: 'Debian 12 (bookworm)' },
  origin: 'local-build',
  bootMode: 'kernel',
  provisioning: 'cloud-init',
  sizeBytes: 1536 * 1024 ** 2,
  readyMarker: null,
  installedAt: '2026-01-01T00:00:00.000Z',
  usedBy,
});

const ubuntu: CatalogEntry = {
  name: 'ubuntu-24.04',
  os: { id: 'ubuntu', version: '24.04', pretty: 'Ubuntu 24.04 LTS' },
  bootMode: 'firmware',
  provisioning: 'cloud-init',
  source: 'https://cloud-images.ubuntu.com/releases/noble/release/SHA256SUMS',
  installed: false,
  download: null,
};

const conflict: IpcResult<never> = {
  ok: false,
  error: {
    source: 'hearthd',
    status: 409,
    code: 'conflict',
    message: 'Image debian-12 is used by 2 environments (web, api); delete them first.',
  },
};

function fakeMain() {
  const calls: Array<[string, unknown]> = [];
  const api: HearthApi = {
    invoke: (name, request) => {
      calls.push([name, request]);
      const answers: Record<string, () => IpcResult<unknown>> = {
        getCaller: () => ({ ok: true, value: { uid: 0, admin: true } }),
        listImages: () => ({ ok: true, value: { images: [image('debian-12', 2), image('old', 0)] } }),
        getCatalog: () => ({ ok: true, value: { entries: [ubuntu] } }),
        deleteImage: () =>
          (request as { params: { name: string } }).params.name === 'debian-12'
            ? conflict
            : { ok: true, value: { images: [image('debian-12', 2)] } },
        downloadImage: () => ({
          ok: true,
          value: {
            ...ubuntu,
            download: { phase: 'resolving', receivedBytes: 0, totalBytes: null, message: 'SHA256SUMS', updatedAt: '' },
          },
        }),
        runInstaller: () => ({
          ok: true,
          value: {
            action: 'build-image',
            kind: 'install',
            state: 'running',
            steps: [
              { id: 'authorize', title: 'Get administrator rights (your password)', state: 'changed' },
              { id: 'packages', title: 'Install packages', state: 'running', percent: 40, note: 'Unpacking git' },
            ],
            log: [],
            startedAt: 0,
          } satisfies InstallRun,
        }),
      };
      return Promise.resolve((answers[name]?.() ?? { ok: true, value: null }) as never);
    },
    on: () => () => undefined,
  };
  Object.defineProperty(window, 'hearth', { value: api, configurable: true });
  return calls;
}

let client: QueryClient;
const renderSection = () =>
  render(
    <QueryClientProvider client={client}>
      <ImagesSection connected admin />
    </QueryClientProvider>,
  );

beforeEach(() => {
  client = new QueryClient({ defaultOptions: { queries: { retry: false, staleTime: Infinity } } });
  usePushed.setState({ install: null });
});
afterEach(cleanup);

describe('Settings → Images', () => {
  it('lists installed images with what they are, and shows a refused delete on its own row', async () => {
    const calls = fakeMain();
    renderSection();
    const row = (await screen.findByText('debian-12')).closest('tr')!;
    expect(row.textContent).toContain('Debian 12 (bookworm)');
    expect(row.textContent).toContain('1.5 GiB');
    expect(within(row).getByTestId('used-by').textContent).toBe('2 environments');
    fireEvent.click(within(row).getByRole('button', { name: 'Delete debian-12' }));
    const error = await within(row).findByTestId('image-delete-error');
    expect(error.textContent).toContain('used by 2 environments');
    // The other row says nothing; deleting it works and the list follows.
    fireEvent.click(screen.getByRole('button', { name: 'Delete old' }));
    await waitFor(() => expect(screen.queryByText('old')).toBeNull());
    expect(calls.filter(([n]) => n === 'deleteImage')).toHaveLength(2);
  });

  it('downloads from the catalog, with live progress from image events', async () => {
    const calls = fakeMain();
    renderSection();
    fireEvent.click(await screen.findByRole('button', { name: 'Download Ubuntu 24.04 LTS' }));
    await waitFor(() => expect(calls.some(([n]) => n === 'downloadImage')).toBe(true));
    const entry = () => screen.getByTestId('catalog').querySelector('[data-catalog="ubuntu-24.04"]')!;
    await waitFor(() => expect(entry().getAttribute('data-phase')).toBe('resolving'));
    act(() =>
      applyImageEvent(client, {
        type: 'image',
        seq: 1,
        time: '',
        name: 'ubuntu-24.04',
        change: 'progress',
        progress: {
          phase: 'downloading',
          receivedBytes: 300 * 1024 ** 2,
          totalBytes: 600 * 1024 ** 2,
          message: 'noble-server-cloudimg-amd64.img',
          updatedAt: '',
        },
      } as never),
    );
    // react-query tells its observers on the next tick.
    await waitFor(() => expect(entry().getAttribute('data-phase')).toBe('downloading'));
    expect(entry().querySelector('progress')!.value).toBe(300 * 1024 ** 2);
    expect(entry().textContent).toContain('300 MiB of 600 MiB');
    expect(within(entry() as HTMLElement).getByRole('button', { name: 'Download Ubuntu 24.04 LTS' })).toHaveProperty(
      'disabled',
      true,
    );
  });

  it('builds locally through the installer, showing its steps and percent', async () => {
    const calls = fakeMain();
    renderSection();
    fireEvent.click(await screen.findByTestId('build-image'));
    await waitFor(() => expect(calls).toContainEqual(['runInstaller', { action: 'build-image' }]));
    const panel = await screen.findByTestId('install');
    expect(panel.textContent).toContain('Building the Debian image');
    expect(panel.querySelector<HTMLProgressElement>('[data-step="packages"] progress')?.value).toBe(40);
    expect(panel.textContent).toContain('Unpacking git');
  });
});
