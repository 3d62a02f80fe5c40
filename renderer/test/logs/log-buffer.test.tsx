// @vitest-environment jsdom
import { describe, expect, it } from 'vitest';
import { stripAnsi } from '../../src/features/logs/ansi.js';
import { CHUNK_LINES, LogBuffer } from '../../src/features/logs/log-buffer.js';
import { LogSearch } from '../../src/features/logs/log-search.js';
import { ALL, LogView } from '../../src/features/logs/log-view.js';

const texts = (from: number, count: number) => Array.from({ length: count }, (_, i) => `line ${from + i}`);

describe('log buffer', () => {
  it('keeps lines in order across chunk boundaries, each with its time, level and source', () => {
    const buffer = new LogBuffer();
    buffer.appendTexts(texts(0, CHUNK_LINES - 1), 'console', 1000);
    buffer.append([
      { text: 'last of chunk 0', time: 2000, level: 'warn', source: 'hearthd' },
      { text: 'first of chunk 1', time: 3000, source: 'events' },
    ]);
    buffer.appendTexts(texts(CHUNK_LINES + 1, 2 * CHUNK_LINES), 'console', 4000);
    expect(buffer.size).toBe(3 * CHUNK_LINES + 1);
    expect(buffer.text(0)).toBe('line 0');
    expect(buffer.line(CHUNK_LINES - 1)).toEqual({
      seq: CHUNK_LINES - 1,
      text: 'last of chunk 0',
      time: 2000,
      level: 'warn',
      source: 'hearthd',
    });
    expect(buffer.line(CHUNK_LINES)).toMatchObject({ text: 'first of chunk 1', level: undefined, source: 'events' });
    expect(buffer.text(3 * CHUNK_LINES)).toBe(`line ${3 * CHUNK_LINES}`);
    expect(() => buffer.text(3 * CHUNK_LINES + 1)).toThrow(RangeError);
  });

  it('drops whole oldest chunks past the line cap and counts them', () => {
    const buffer = new LogBuffer({ maxLines: 2 * CHUNK_LINES, maxBytes: Infinity });
    buffer.appendTexts(texts(0, 2 * CHUNK_LINES), 'console', 0);
    expect(buffer.dropped).toBe(0);
    buffer.appendTexts(texts(2 * CHUNK_LINES, 10), 'console', 0);
    expect(buffer.dropped).toBe(CHUNK_LINES);
    expect(buffer.first).toBe(CHUNK_LINES);
    expect(buffer.size).toBe(CHUNK_LINES + 10);
    expect(buffer.text(buffer.first)).toBe(`line ${CHUNK_LINES}`);
    expect(buffer.has(CHUNK_LINES - 1)).toBe(false);
    expect(buffer.text(buffer.end - 1)).toBe(`line ${2 * CHUNK_LINES + 9}`);
  });

  it('drops by the byte cap too', () => {
    const big = 'x'.repeat(1000);
    const buffer = new LogBuffer({ maxLines: Infinity, maxBytes: CHUNK_LINES * 1900 });
    buffer.appendTexts(Array<string>(CHUNK_LINES).fill(big), 'console', 0);
    expect(buffer.dropped).toBe(0);
    buffer.appendTexts(Array<string>(CHUNK_LINES).fill(big), 'console', 0);
    expect(buffer.dropped).toBe(CHUNK_LINES);
    expect(buffer.bytes).toBeLessThanOrEqual(CHUNK_LINES * 1900);
  });

  it('keeps any text exactly (multi-byte UTF-8, long lines, newlines inside a line) and counts its bytes', () => {
    const buffer = new LogBuffer();
    const long = 'ü'.repeat(100_000); // 200 KB of UTF-8: past a chunk's first byte array
    const odd = ['', 'naïve café', '日本語のログ', 'emoji 🚀 done', long, 'two\nlines', 'tab\there'];
    buffer.appendTexts(odd, 'console', 0);
    buffer.appendTexts(texts(0, CHUNK_LINES), 'console', 0); // fills and seals chunk 0
    expect(odd.map((_, i) => buffer.text(i))).toEqual(odd);
    expect(buffer.text(odd.length + CHUNK_LINES - 1)).toBe(`line ${CHUNK_LINES - 1}`);
    expect(buffer.bytes).toBeGreaterThan(200_000);
    // Search's plain text, in a chunk with a newline inside a line and one without.
    expect(buffer.plain(5, (t) => t)).toBe('two\nlines');
    expect(buffer.plain(CHUNK_LINES, (t) => t)).toBe(`line ${CHUNK_LINES - odd.length}`);
  });

  it('strips plain text for search a batch at a time, and again for lines appended to the chunk since', () => {
    const buffer = new LogBuffer();
    const strip = stripAnsi;
    buffer.appendTexts(['\x1b[31mred\x1b[0m one', 'plain two'], 'console', 0);
    expect(buffer.plain(0, strip)).toBe('red one');
    expect(buffer.plain(1, strip)).toBe('plain two');
    buffer.appendTexts(['\x1b[1;32mgreen\x1b[0m three'], 'console', 0);
    expect(buffer.plain(2, strip)).toBe('green three');
    // A stripper that eats a newline (an escape left open at a line's end) falls back to line by line.
    buffer.appendTexts(['open \x1b[', 'next'], 'console', 0);
    const eatsNewline = (t: string) => t.split('\x1b[\n').join('').split('\x1b[').join('');
    expect(buffer.plain(4, eatsNewline)).toBe('next');
    expect(buffer.plain(3, eatsNewline)).toBe('open ');
  });

  it('tells its subscribers every change, with a new version', () => {
    const buffer = new LogBuffer();
    const seen: number[] = [];
    const stop = buffer.subscribe(() => seen.push(buffer.version));
    buffer.appendTexts(['a'], 'console', 0);
    buffer.appendTexts([], 'console', 0);
    buffer.appendTexts(['b', 'c'], 'console', 0);
    stop();
    buffer.appendTexts(['d'], 'console', 0);
    expect(seen).toEqual([1, 2]);
  });
});

describe('filtered view', () => {
  const hearthd = () => {
    const buffer = new LogBuffer({ maxLines: 2 * CHUNK_LINES, maxBytes: Infinity });
    const levels = ['debug', 'info', 'warn', 'error'] as const;
    buffer.append(
      Array.from({ length: 2 * CHUNK_LINES }, (_, i) => ({
        text: `entry ${i}`,
        time: i,
        level: levels[i % 4]!,
        source: 'hearthd' as const,
      })),
    );
    return buffer;
  };

  it('shows every line without a filter, and only passing levels with one', () => {
    const buffer = hearthd();
    const view = new LogView(buffer);
    expect(view.length).toBe(2 * CHUNK_LINES);
    view.setFilter({ ...ALL, levels: new Set(['warn', 'error', 'fatal']) });
    expect(view.length).toBe(CHUNK_LINES);
    expect(buffer.text(view.seqAt(0))).toBe('entry 2');
    expect(buffer.text(view.seqAt(1))).toBe('entry 3');
    expect(view.rowOf(6)).toBe(2);
    // New lines are filtered as they come.
    buffer.append([
      { text: 'new debug', time: 0, level: 'debug', source: 'hearthd' },
      { text: 'new error', time: 0, level: 'error', source: 'hearthd' },
    ]);
    expect(buffer.text(view.seqAt(view.length - 1))).toBe('new error');
  });

  it('forgets rows the buffer dropped, and counts them as removed', () => {
    const buffer = hearthd();
    const view = new LogView(buffer);
    view.setFilter({ ...ALL, levels: new Set(['error']) });
    expect(view.length).toBe(CHUNK_LINES / 2);
    buffer.append([{ text: 'overflow', time: 0, level: 'error', source: 'hearthd' }]);
    expect(buffer.dropped).toBe(CHUNK_LINES);
    expect(view.length).toBe(CHUNK_LINES / 4 + 1);
    expect(view.removed).toBe(CHUNK_LINES / 4);
    expect(view.seqAt(0)).toBeGreaterThanOrEqual(buffer.first);
  });

  it('filters by source where several are merged; console lines have no level and always pass the level filter', () => {
    const buffer = new LogBuffer();
    buffer.appendTexts(['booting'], 'console', 0);
    buffer.append([{ text: 'started', time: 0, source: 'events' }]);
    const view = new LogView(buffer);
    view.setFilter({ levels: new Set(['error']), sources: new Set(['console']) });
    expect(view.length).toBe(1);
    expect(buffer.text(view.seqAt(0))).toBe('booting');
  });
});

describe('search', () => {
  const noWait = () => Promise.resolve();

  it('counts matches ignoring case and ANSI, steps next/previous with wrap-around', async () => {
    const buffer = new LogBuffer();
    buffer.appendTexts(['an Error here', 'fine', '\x1b[31mERR\x1b[0mOR coloured', 'no', 'error again'], 'console', 0);
    const search = new LogSearch(new LogView(buffer), noWait);
    await search.setQuery('error');
    expect(search.count).toBe(3);
    expect(search.currentIndex).toBe(0);
    expect(search.currentSeq).toBe(0);
    expect(search.next()).toBe(2);
    expect(search.next()).toBe(4);
    expect(search.next()).toBe(0); // wraps
    expect(search.previous()).toBe(4); // wraps back
    expect(search.isMatch(2)).toBe(true);
    expect(search.isMatch(1)).toBe(false);
    await search.setQuery('nothing like it');
    expect(search.count).toBe(0);
    expect(search.next()).toBeUndefined();
  });

  it('treats the query as text, not a pattern', async () => {
    const buffer = new LogBuffer();
    buffer.appendTexts(['a.c', 'abc', 'x[1]'], 'console', 0);
    const search = new LogSearch(new LogView(buffer), noWait);
    await search.setQuery('a.c');
    expect(search.count).toBe(1);
    await search.setQuery('[1]');
    expect(search.count).toBe(1);
  });

  it('scans a large buffer in slices (yielding between them) and keeps counting new lines', async () => {
    const buffer = new LogBuffer();
    const count = 300_000;
    buffer.appendTexts(
      Array.from({ length: count }, (_, i) => (i % 1000 === 0 ? `needle ${i}` : `hay ${i}`)),
      'console',
      0,
    );
    let yields = 0;
    const search = new LogSearch(new LogView(buffer), () => {
      yields += 1;
      return Promise.resolve();
    });
    await search.setQuery('needle');
    expect(search.count).toBe(count / 1000);
    expect(yields).toBeGreaterThan(0);
    buffer.appendTexts(['needle late'], 'console', 0);
    search.update();
    await Promise.resolve();
    expect(search.count).toBe(count / 1000 + 1);
  });

  it('searches only the filtered rows, and forgets matches the buffer dropped', async () => {
    const buffer = new LogBuffer({ maxLines: CHUNK_LINES, maxBytes: Infinity });
    buffer.append([
      { text: 'disk error', time: 0, level: 'error', source: 'hearthd' },
      { text: 'disk ok', time: 0, level: 'debug', source: 'hearthd' },
    ]);
    const view = new LogView(buffer);
    view.setFilter({ ...ALL, levels: new Set(['error']) });
    const search = new LogSearch(view, noWait);
    await search.setQuery('disk');
    expect(search.count).toBe(1);
    buffer.appendTexts(Array<string>(CHUNK_LINES).fill('filler'), 'console', 0);
    expect(buffer.dropped).toBe(CHUNK_LINES);
    expect(search.count).toBe(0);
  });
});
