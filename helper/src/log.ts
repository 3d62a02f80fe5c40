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
  return destination ? pino(options, destination) : pino(options);
}
