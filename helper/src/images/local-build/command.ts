import { buildImage, type BuildImageOptions } from './build-image.js';

/**
 * The `hearthd build-image` command: progress lines on stdout (the installer forwards them), a
 * summary last, and the exit status the installer acts on (0 built or cached and imported, 1 failed).
 */
export async function runBuildImage(options: BuildImageOptions): Promise<number> {
  const write = (line: string) => process.stdout.write(line);
  try {
    const result = await buildImage(options, write);
    write(
      `image ${result.name} ${result.cached ? 'taken from the cache' : `built in ${result.buildSeconds} s`}` +
        ` and imported in ${result.importSeconds} s (recipe ${result.key.slice(0, 16)})\n`,
    );
    return 0;
  } catch (error) {
    process.stderr.write(`hearthd: build-image failed: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
