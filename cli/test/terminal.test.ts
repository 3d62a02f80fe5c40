import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Terminal, type TerminalOptions } from '../src/terminal/terminal.js';

/** A stream that says it is (or is not) a terminal, as process.stdout does. */
function stream(isTTY: boolean): NodeJS.WriteStream {
  return Object.assign(new PassThrough(), { isTTY }) as unknown as NodeJS.WriteStream;
}

function terminal(tty: boolean, options: Partial<TerminalOptions> = {}, env: NodeJS.ProcessEnv = {}): Terminal {
  return new Terminal(
    { json: false, color: true, raw: false, ...options },
    { stdout: stream(tty), stderr: stream(tty), env },
  );
}

const HOSTILE = 'ok\u001b]0;owned\u0007 \u001b[2J\u001b[31mred\u001b[0m back\bspace\rover \u009b31m c1 \u0000nul\ttab';

describe('Terminal', () => {
  it("cleans a guest's text on a terminal: escape sequences, carriage returns and other controls go", () => {
    const cleaned = terminal(true).guest(HOSTILE);
    expect(cleaned).toBe('ok red backspaceover  c1 nul\ttab');
    // eslint-disable-next-line no-control-regex
    expect(cleaned).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
  });

  it('leaves it as it is with --raw, and on a pipe (the bytes are the data there)', () => {
    expect(terminal(true, { raw: true }).guest(HOSTILE)).toBe(HOSTILE);
    expect(terminal(false).guest(HOSTILE)).toBe(HOSTILE);
  });

  it('colours only for a person: a terminal, no NO_COLOR, no --no-color, no --json', () => {
    const bold = (t: Terminal) => t.colors.bold('x');
    expect(bold(terminal(true))).toBe('\u001b[1mx\u001b[22m');
    expect(bold(terminal(false))).toBe('x');
    expect(bold(terminal(true, {}, { NO_COLOR: '1' }))).toBe('x');
    expect(bold(terminal(true, { color: false }))).toBe('x');
    expect(bold(terminal(true, { json: true }))).toBe('x');
    // NO_COLOR counts only when set to something (no-color.org).
    expect(bold(terminal(true, {}, { NO_COLOR: '' }))).toBe('\u001b[1mx\u001b[22m');
  });

  it('shows live progress only on a terminal and never with --json', () => {
    expect(terminal(true).progress).toBe(true);
    expect(terminal(false).progress).toBe(false);
    expect(terminal(true, { json: true }).progress).toBe(false);
  });
});
