import type { InstallStepId } from '#protocol';

/** The build's steps, in order, with the titles the installer shows. */
export const BUILD_STEPS = {
  bootstrap: 'Bootstrap Debian 12 from the archive',
  packages: 'Install the kernel, cloud-init, SSH and Git',
  agent: 'Bake in the Hearth agent and the cloud-init configuration',
  disk: 'Make the disk image',
  import: 'Import the image',
} as const satisfies Partial<Record<InstallStepId, string>>;
export type BuildStep = keyof typeof BUILD_STEPS;

/**
 * The installer's line protocol (protocol/schemas/app.ts; hearth-install.sh speaks the same):
 * `::step`, `::progress`, `::result`, `::fail`, one per line, between plain log lines. Messages
 * are flattened to one line so a tool's output can never forge a protocol line.
 */
export class ProgressWriter {
  private current: BuildStep | undefined;
  private lastPercent = -1;

  constructor(private readonly write: (line: string) => void) {}

  step(id: BuildStep): void {
    this.current = id;
    this.lastPercent = -1;
    this.line(`::step ${id} ${BUILD_STEPS[id]}`);
  }

  /** Whole percents, only forwards: a tool that reports every file does not flood the installer. */
  progress(percent: number, message: string): void {
    if (!this.current) return;
    const whole = Math.max(0, Math.min(100, Math.floor(percent)));
    if (whole <= this.lastPercent) return;
    this.lastPercent = whole;
    this.line(`::progress ${this.current} ${whole} ${oneLine(message)}`);
  }

  result(state: 'changed' | 'unchanged' | 'skipped', note?: string): void {
    if (!this.current) return;
    this.line(`::result ${this.current} ${state}${note ? ` ${oneLine(note)}` : ''}`);
    this.current = undefined;
  }

  /** Fails the running step (or the first one, when none runs yet). */
  fail(message: string): void {
    this.line(`::fail ${this.current ?? 'bootstrap'} ${oneLine(message)}`);
    this.current = undefined;
  }

  /** Plain log lines (tool output), indented: they can never read as a protocol line. */
  log(text: string): void {
    for (const line of text.split('\n')) if (line.trim()) this.line(`  ${line}`);
  }

  private line(text: string): void {
    this.write(`${text}\n`);
  }
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 500);
}
