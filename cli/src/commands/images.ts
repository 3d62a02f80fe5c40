import type { CatalogEntry, CliImages, DownloadProgress, HearthEventOf } from '#protocol';
import type { CliContext } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { NONE, formatBytes } from '../terminal/format.js';
import { renderTable } from '../terminal/table.js';
import { progressBar } from './progress-bar.js';

const ENDED = new Set<DownloadProgress['phase']>(['installed', 'failed', 'cancelled']);

export interface ImagesOptions {
  available?: boolean;
}

function catalogState(entry: CatalogEntry): string {
  if (entry.installed) return 'installed';
  const download = entry.download;
  if (download === null || download.phase === 'cancelled') return 'available';
  if (download.phase === 'downloading' && download.totalBytes)
    return `downloading ${Math.floor((download.receivedBytes / download.totalBytes) * 100)}%`;
  return download.phase;
}

/** `hearth images`: the installed images; with --available, the catalog hearthd can download too. */
export async function listImages(context: CliContext, options: ImagesOptions): Promise<ExitCode> {
  const { terminal, client } = context;
  const [installed, catalog] = await Promise.all([
    client.call('listImages'),
    options.available === true ? client.call('getCatalog') : undefined,
  ]);
  if (terminal.json) {
    if (catalog === undefined) terminal.data(installed);
    else terminal.data({ images: installed.images, catalog: catalog.entries } satisfies CliImages);
    return ExitCode.ok;
  }
  if (installed.images.length === 0)
    terminal.say('No images installed yet. hearth images --available lists the catalog.');
  else
    terminal.out(
      renderTable(
        terminal,
        ['NAME', 'OS', 'ORIGIN', 'BOOT', 'SIZE', 'USED BY', 'INSTALLED'],
        installed.images.map((image) => [
          image.name,
          image.os.pretty,
          image.origin,
          image.bootMode,
          formatBytes(image.sizeBytes),
          String(image.usedBy),
          image.installedAt.slice(0, 10),
        ]),
      ),
    );
  if (catalog !== undefined) {
    terminal.out();
    terminal.out(
      renderTable(
        terminal,
        ['CATALOG', 'OS', 'STATE', 'SOURCE'],
        catalog.entries.map((entry) => [entry.name, entry.os.pretty, catalogState(entry), entry.source]),
      ),
    );
    terminal.say('Download one: hearth images download <name>   Build the local Debian image: hearth images build');
  }
  return ExitCode.ok;
}

function progressText(progress: DownloadProgress | null): string {
  if (progress === null) return NONE;
  const total = progress.totalBytes === null ? '' : ` of ${formatBytes(progress.totalBytes)}`;
  return progress.phase === 'downloading'
    ? `downloading ${formatBytes(progress.receivedBytes)}${total}`
    : progress.phase;
}

/**
 * `hearth images download`: asks hearthd to download, verify and install a catalog image and
 * follows its `image` events until it is installed or has failed: a bar on a terminal, a line per
 * phase elsewhere. Ctrl-C stops watching, not the download (hearthd carries on; exit 130).
 */
export async function downloadImage(context: CliContext, name: string): Promise<ExitCode> {
  const { terminal, client, signal } = context;
  const bar = await progressBar(terminal);
  const events = client.events(signal)[Symbol.asyncIterator]();
  let last: HearthEventOf<'image'> | undefined;
  try {
    await events.next(); // the hello: subscribed before the download starts, so no event is missed
    const started = await client.call('downloadImage', { params: { name } });
    // The entry keeps the last download of this run: one that ended before is not this one.
    const current = started.download !== null && !ENDED.has(started.download.phase) ? started.download : null;
    let phase = current?.phase;
    if (!terminal.json) terminal.say(`${name}: ${current === null ? 'starting' : progressText(current)}`);
    while (!started.installed) {
      const next = await events.next();
      if (next.done === true) break;
      const event = next.value;
      if (event.type !== 'image' || event.name !== name) continue;
      last = event;
      const progress = event.progress;
      if (event.change === 'installed' || event.change === 'failed' || event.change === 'deleted') break;
      if (progress === null || terminal.json) continue;
      if (bar.live) bar.update(progress.receivedBytes, progress.totalBytes, progressText(progress));
      else if (progress.phase !== phase) terminal.say(`${name}: ${progressText(progress)}`);
      phase = progress.phase;
    }
  } catch (error) {
    bar.done();
    if (signal.aborted) {
      terminal.say(`hearth: stopped watching; hearthd carries on with ${name} (hearth images --available)`);
      return ExitCode.interrupted;
    }
    throw error;
  } finally {
    await events.return(undefined).catch(() => undefined);
  }
  bar.done();
  if (signal.aborted) {
    terminal.say(`hearth: stopped watching; hearthd carries on with ${name} (hearth images --available)`);
    return ExitCode.interrupted;
  }
  const entry = (await client.call('getCatalog')).entries.find((e) => e.name === name);
  if (terminal.json && entry !== undefined) terminal.data(entry);
  if (entry?.installed === true && last?.change !== 'failed') {
    terminal.say(`${terminal.colors.green('✓')} ${name} is installed: hearth create <name> --image ${name}`);
    return ExitCode.ok;
  }
  const why = last?.progress?.message ?? entry?.download?.message ?? 'hearthd ended its event stream';
  // The reason may quote the image site's answer: cleaned like a guest's text on a terminal.
  terminal.say(`${terminal.colors.red('✗')} ${name} was not installed: ${terminal.guest(why, 'stderr')}`);
  return ExitCode.failed;
}

/** `hearth images rm`: administrators; hearthd refuses while an environment uses the image. */
export async function removeImage(context: CliContext, name: string): Promise<ExitCode> {
  const { terminal } = context;
  const list = await context.client.call('deleteImage', { params: { name } });
  if (terminal.json) terminal.data(list);
  else terminal.say(`${name}: removed`);
  return ExitCode.ok;
}
