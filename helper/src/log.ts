import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs on stdout (journald keeps them under systemd). Anything that could carry
 * a credential is redacted by path, so a careless log call cannot leak it.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  '*.token',
  '*.password',
  '*.secret',
  '*.privateKey',
  '*.credentials',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    name: 'hearthd',
    level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (destination) return pino(options, destination);
  const stdout = pino.destination({ dest: 1, sync: true });
  const log = pino(options, stdout);
  // When whoever reads stdout goes away (a development parent that died), writes fail with
  // EPIPE. Logging must never stop hearthd from working or shutting down: go quiet instead.
  stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') log.level = 'silent';
  });
  return log;
}
