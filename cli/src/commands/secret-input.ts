import { CliError, ExitCode } from '../exit-codes.js';

/**
 * Reads a secret without it ever being a command-line argument (which every local user sees in
 * `ps`): all of stdin with --token-stdin (`pass show gh | hearth access add … --token-stdin`),
 * else a prompt on the terminal that does not echo.
 */
export async function readSecret(prompt: string, fromStdin: boolean, signal: AbortSignal): Promise<string> {
  if (fromStdin) return (await readAll(process.stdin)).replace(/\r?\n$/, '');
  if (!process.stdin.isTTY || !process.stderr.isTTY)
    throw new CliError('no terminal to ask for the token on: pipe it in with --token-stdin', ExitCode.usage);
  return hiddenPrompt(prompt, signal);
}

async function readAll(stream: NodeJS.ReadStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The terminal in raw mode (no echo, no line editing by the tty), so the secret is taken key by
 * key: Enter ends it, Backspace takes back one character, Ctrl-C and Ctrl-D abandon it.
 */
function hiddenPrompt(prompt: string, signal: AbortSignal): Promise<string> {
  const input = process.stdin;
  return new Promise((resolve, reject) => {
    // Code points, so Backspace takes back a whole character (a token is ASCII; a typo may not be).
    const typed: string[] = [];
    const finish = (error?: Error) => {
      input.off('data', onData);
      signal.removeEventListener('abort', onAbort);
      input.setRawMode(false);
      input.pause();
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(typed.join(''));
    };
    const onAbort = () => finish(new Error('interrupted'));
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') {
          finish();
          return;
        }
        // In raw mode Ctrl-C arrives as a byte, not as SIGINT: it still means "stop".
        if (char === '\u0003' || char === '\u0004') {
          finish(
            char === '\u0003'
              ? new CliError('interrupted', ExitCode.interrupted)
              : new CliError('no token given', ExitCode.usage),
          );
          return;
        }
        if (char === '\u007f' || char === '\b') typed.pop();
        else if (char >= ' ') typed.push(char);
      }
    };
    signal.addEventListener('abort', onAbort, { once: true });
    // Echo off before the prompt shows: nothing typed after it can reach the screen.
    input.setRawMode(true);
    process.stderr.write(prompt);
    input.resume();
    input.on('data', onData);
  });
}
