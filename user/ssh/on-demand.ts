import type { Options as WriteOptions } from 'write-file-atomic';

/**
 * The heavier modules the SSH side needs only when it writes or runs something, loaded then:
 * this code is part of the `hearth` command, which starts on every invocation, and most
 * invocations never write a file or run ssh-keygen (bench/cli.ts measures the start).
 */

/** write-file-atomic, loaded on the first write. */
export async function writeAtomic(path: string, text: string, options: WriteOptions = {}): Promise<void> {
  const { default: writeFileAtomic } = await import('write-file-atomic');
  await writeFileAtomic(path, text, options);
}

/**
 * Runs a program with an argument array (never a shell) and returns its stdout. node:child_process
 * rather than execa: execa's bundle costs more at start than these short runs need.
 */
export async function runProgram(file: string, args: readonly string[]): Promise<string> {
  const [{ execFile }, { promisify }] = await Promise.all([import('node:child_process'), import('node:util')]);
  const { stdout } = await promisify(execFile)(file, [...args], { encoding: 'utf8' });
  return stdout;
}
