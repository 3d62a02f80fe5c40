import { constants } from 'node:fs';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';

/**
 * The sockets and files a VMM is handed as open fds. hearthd binds and opens them itself, as
 * root, in its own directories, so the VMM user never gets a path there: root never has to
 * connect to, read or remove anything the VMM user could have replaced.
 */
export class Handoff {
  private readonly servers: Server[] = [];
  private readonly files: FileHandle[] = [];

  /** The fds in the order added: the VMM sees them as 3, 4, 5, … */
  readonly fds: number[] = [];

  /** The fd number the VMM will see for the next thing added. */
  get nextFd(): number {
    return 3 + this.fds.length;
  }

  /**
   * A listening Unix socket at `path`. Bound under a temporary name and renamed into place,
   * because Node unlinks a socket's bound path when it closes it, and hearthd closes its copy
   * as soon as the VMM holds the listener.
   */
  async listen(path: string): Promise<number> {
    const binding = `${path}.binding`;
    await rm(binding, { force: true });
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(binding, resolve);
    });
    this.servers.push(server);
    await rename(binding, path);
    const fd = (server as unknown as { _handle?: { fd?: number } })._handle?.fd;
    if (fd === undefined || fd < 0) throw new Error(`no fd for the socket ${path}`);
    return this.add(fd);
  }

  /** An open file (never through a symlink), for the VMM to append to, read, or read and write. */
  async file(path: string, mode: 'append' | 'read' | 'read-write'): Promise<number> {
    const access = {
      append: constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT,
      read: constants.O_RDONLY,
      'read-write': constants.O_RDWR,
    }[mode];
    const flags = access | constants.O_NOFOLLOW;
    const handle = await open(path, flags, 0o600);
    this.files.push(handle);
    return this.add(handle.fd);
  }

  /** hearthd's copies go once the VMM has its own (after spawn), or when the launch is abandoned. */
  async close(): Promise<void> {
    for (const server of this.servers.splice(0)) await new Promise((resolve) => server.close(resolve));
    for (const file of this.files.splice(0)) await file.close();
  }

  private add(fd: number): number {
    this.fds.push(fd);
    return this.nextFd - 1;
  }
}

/**
 * Opens a VMM's sockets and files with `open`, starts it with `start` (given them and the fds to
 * hand over), and closes hearthd's copies whatever happens: the VMM holds its own by then.
 */
export async function withHandoff<F, T>(
  open: (handoff: Handoff) => Promise<F>,
  start: (fds: F, handed: number[]) => Promise<T>,
): Promise<T> {
  const handoff = new Handoff();
  try {
    return await start(await open(handoff), handoff.fds);
  } finally {
    await handoff.close();
  }
}
