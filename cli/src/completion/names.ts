import { HearthdClient } from '#protocol/client';
import { resolveSocket } from '../context.js';
import { NAME_KINDS, type NameKind } from './sources.js';

/** A shell waits for these while the user waits at <TAB>: a hearthd that does not answer costs this, not a hang. */
const PATIENCE_MS = 2_000;

const FETCH: Record<NameKind, (client: HearthdClient) => Promise<string[]>> = {
  environments: async (client) => (await client.call('listEnvironments')).environments.map((e) => e.name),
  classes: async (client) => (await client.call('listClasses')).classes.map((c) => c.name),
  images: async (client) => (await client.call('listImages')).images.map((i) => i.name),
  catalog: async (client) => (await client.call('getCatalog')).entries.map((e) => e.name),
};

function isNameKind(kind: string): kind is NameKind {
  return (NAME_KINDS as readonly string[]).includes(kind);
}

/**
 * `hearth __complete <kind>`: the names hearthd has of that kind, one a line, for a completion
 * script. A completion must never print into the user's command line, so every failure (hearthd
 * down, access denied, an unknown kind) prints nothing and exits 0.
 */
export async function printNames(kind: string, socket: string | undefined): Promise<void> {
  if (!isNameKind(kind)) return;
  setTimeout(() => process.exit(0), PATIENCE_MS).unref();
  const client = new HearthdClient(resolveSocket(socket, process.env));
  try {
    const names = await FETCH[kind](client);
    if (names.length > 0) process.stdout.write(`${names.join('\n')}\n`);
  } catch {
    // Nothing to offer: the shell shows no names, and no message.
  } finally {
    await client.close();
  }
}
