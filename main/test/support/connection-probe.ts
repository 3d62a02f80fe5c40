import { ConnectionManager } from '../../src/core/connection.js';

/** Prints the first settled connection state for the socket in argv[2]; run as another user by tests. */
const manager = new ConnectionManager({
  socketPath: process.argv[2]!,
  bundledVersion: '0.1.0',
  isInstalled: () => Promise.resolve(true),
});
manager.onStatus((status) => {
  process.stdout.write(`${status.state}\n`);
  void manager.stop().then(() => process.exit(0));
});
manager.start();
