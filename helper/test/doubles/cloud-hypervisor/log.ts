import { openSync, writeSync } from 'node:fs';

/**
 * CH's logger: `-v` raises the level (warn → info → debug), `--log-file` replaces stderr, and every
 * line reads `cloud-hypervisor: <secs>s: <thread> LEVEL:location -- message`. The double's location
 * is always `double`, so its lines are never mistaken for the real VMM's.
 */

const LEVELS = ['ERROR', 'WARN', 'INFO', 'DEBUG', 'TRACE'] as const;
type Level = (typeof LEVELS)[number];
const started = performance.now();

export class Logger {
  private readonly fd: number;
  private readonly max: number;

  constructor(verbosity: number, logFile: string | undefined) {
    this.fd = logFile === undefined ? 2 : openSync(logFile, 'w', 0o600);
    this.max = Math.min(1 + verbosity, LEVELS.length - 1);
  }

  error(message: string): void {
    this.write('ERROR', message);
  }
  warn(message: string): void {
    this.write('WARN', message);
  }
  info(message: string): void {
    this.write('INFO', message);
  }
  debug(message: string): void {
    this.write('DEBUG', message);
  }

  private write(level: Level, message: string): void {
    if (LEVELS.indexOf(level) > this.max) return;
    const secs = ((performance.now() - started) / 1000).toFixed(6).padStart(10);
    try {
      writeSync(this.fd, `cloud-hypervisor: ${secs}s: <vmm> ${level}:double -- ${message}\r\n`);
    } catch {
      // A closed stderr must not take the VMM down; CH ignores logger write errors too.
    }
  }
}
