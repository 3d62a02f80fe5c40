import { pino, type DestinationStream, type Logger } from 'pino';
import { ENV_FIELDS } from './log-ring.js';

export type { Logger };

/**
 * Keys whose values are never logged, at any depth and inside arrays. Matched case-insensitively,
 * ignoring `-` and `_`, and as a suffix, so `githubToken`, `client_secret` and `X-Api-Key` count.
 */
export const REDACTED_KEYS = [
  'token',
  'password',
  'passphrase',
  'secret',
  'privatekey',
  'credentials',
  'credential',
  'authorization',
  'cookie',
  'apikey',
] as const;
export const CENSOR = '[redacted]';

const secretKey = new RegExp(`(${REDACTED_KEYS.join('|')})$`);
const isSecretKey = (key: string) => secretKey.test(key.toLowerCase().replace(/[-_]/g, ''));

/** A copy of `value` with every secret-named key's value replaced, however deep. */
export function redactDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactDeep);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [key, isSecretKey(key) ? CENSOR : redactDeep(inner)]),
  );
}

/**
 * Structured JSON logs on stdout (journald keeps them under systemd). Redaction runs on the
 * finished line, after serializers and child bindings, so nothing that reaches the log — an error's
 * fields, a nested request, an array of accounts — can carry a credential, wherever it sits.
 * pino's own `redact` needs every path spelled out, which is how nested secrets leaked before.
 */
export function createLogger(level: string, destination?: DestinationStream, ring?: DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    name: 'hearthd',
    level,
    timestamp: pino.stdTimeFunctions.isoTime,
    hooks: {
      streamWrite: (line) => {
        try {
          return `${JSON.stringify(redactDeep(JSON.parse(line)))}\n`;
        } catch {
          // pino always writes JSON; anything else is dropped rather than written unredacted.
          return `${JSON.stringify({ level: 50, msg: 'a log line could not be redacted and was dropped' })}\n`;
        }
      },
    },
  };
  let out = destination;
  if (!out) {
    const stdout = pino.destination({ dest: 1, sync: true });
    // When whoever reads stdout goes away (a development parent that died), writes fail with
    // EPIPE. Logging must never stop hearthd from working or shutting down: stdout goes quiet,
    // the ring (the API's view of the log) goes on.
    let broken = false;
    stdout.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') broken = true;
    });
    out = { write: (line: string) => (broken ? undefined : stdout.write(line)) };
  }
  if (!ring) return pino(options, out);
  // Both get the finished line: the streamWrite hook runs before the multistream fans it out,
  // so the ring only ever holds redacted text. Every level the logger passes reaches both.
  return pino(
    options,
    pino.multistream([
      { level: 'trace', stream: out },
      { level: 'trace', stream: ring },
    ]),
  );
}

/**
 * A logger for one environment: every line carries its id, name and owner (log-ring.ts
 * ENV_FIELDS), so hearthd's log says which environment a line is about and the API can show it
 * to that environment's owner.
 */
export function environmentLog(log: Logger, spec: { id: string; name: string; owner: { uid: number | null } }): Logger {
  return log.child({ [ENV_FIELDS.id]: spec.id, [ENV_FIELDS.name]: spec.name, [ENV_FIELDS.owner]: spec.owner.uid });
}
