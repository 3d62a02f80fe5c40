import Anser from 'anser';
import type { CSSProperties } from 'react';

/**
 * ANSI colours for the rows on screen only: a line is parsed (by anser) when it is first shown,
 * and the result cached by seq, so a million lines cost nothing until they scroll into view.
 * The 16 standard colours map to classes (logs.css, themed for light and dark); 256-colour and
 * truecolour become React `style` props, which React writes through the CSSOM (allowed by the
 * CSP, unlike style attribute text).
 */
export interface AnsiSpan {
  text: string;
  className: string;
  style: CSSProperties | undefined;
}

const NAMED = new Set([
  'black',
  'red',
  'green',
  'yellow',
  'blue',
  'magenta',
  'cyan',
  'white',
  'bright-black',
  'bright-red',
  'bright-green',
  'bright-yellow',
  'bright-blue',
  'bright-magenta',
  'bright-cyan',
  'bright-white',
]);
const DECORATIONS = new Set(['bold', 'dim', 'italic', 'underline', 'blink', 'hidden', 'strikethrough']);

/** xterm's 256-colour palette: 16 named, a 6×6×6 cube, 24 greys. */
function paletteColor(index: number): string {
  if (index < 16) return `var(--ansi-${index})`;
  if (index < 232) {
    const n = index - 16;
    const level = (v: number) => (v === 0 ? 0 : 55 + v * 40);
    return `rgb(${level(Math.floor(n / 36))}, ${level(Math.floor(n / 6) % 6)}, ${level(n % 6)})`;
  }
  const grey = 8 + (index - 232) * 10;
  return `rgb(${grey}, ${grey}, ${grey})`;
}

function colour(
  name: string | null,
  truecolor: string | null,
  kind: 'fg' | 'bg',
  classes: string[],
  style: CSSProperties,
): void {
  if (name === null) return;
  const short = name.replace(/^ansi-/, '');
  const prop = kind === 'fg' ? 'color' : 'backgroundColor';
  if (NAMED.has(short)) classes.push(`ansi-${kind}-${short}`);
  else if (short === 'truecolor' && truecolor !== null) style[prop] = `rgb(${truecolor})`;
  else if (short.startsWith('palette-')) style[prop] = paletteColor(Number(short.slice('palette-'.length)));
}

export function parseAnsi(text: string): AnsiSpan[] {
  if (!text.includes('\x1b')) return [{ text, className: '', style: undefined }];
  return Anser.ansiToJson(text, { use_classes: true, remove_empty: true }).map((entry) => {
    // anser sets isInverted (SGR 7) but its typings do not declare it.
    const inverted = (entry as { isInverted?: boolean }).isInverted === true;
    const classes: string[] = [];
    const style: CSSProperties = {};
    const [fg, bg] = inverted ? [entry.bg, entry.fg] : [entry.fg, entry.bg];
    const [fgTrue, bgTrue] = inverted
      ? [entry.bg_truecolor, entry.fg_truecolor]
      : [entry.fg_truecolor, entry.bg_truecolor];
    colour(fg, fgTrue, 'fg', classes, style);
    colour(bg, bgTrue, 'bg', classes, style);
    for (const decoration of entry.decorations) if (DECORATIONS.has(decoration)) classes.push(`ansi-${decoration}`);
    return { text: entry.content, className: classes.join(' '), style: Object.keys(style).length ? style : undefined };
  });
}

export const stripAnsi = (text: string): string => (text.includes('\x1b') ? Anser.ansiToText(text) : text);

/** A small LRU of parsed rows, keyed by seq (lines never change once appended). */
export class AnsiCache {
  private readonly entries = new Map<number, AnsiSpan[]>();
  constructor(private readonly capacity = 4000) {}

  spans(seq: number, text: string): AnsiSpan[] {
    let spans = this.entries.get(seq);
    if (spans) {
      this.entries.delete(seq);
    } else {
      spans = parseAnsi(text);
      if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value!);
    }
    this.entries.set(seq, spans);
    return spans;
  }
}
