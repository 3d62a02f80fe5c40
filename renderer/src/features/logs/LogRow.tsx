import { memo, type ReactNode } from 'react';
import { LEVELS } from './log-buffer.js';
import type { AnsiSpan } from './ansi.js';

/** Keep in step with .log-row's height in logs.css (and DEFAULT_CAPS, which depends on it). */
export const ROW_HEIGHT = 16;

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** Local wall-clock time to the millisecond: a log is read against the user's own clock. */
export function formatTime(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** The spans with every hit of `pattern` (over their joined text) wrapped in <mark>. */
function highlighted(spans: AnsiSpan[], pattern: RegExp | undefined, current: boolean): ReactNode[] {
  const plain = spans.map((s) => s.text).join('');
  const hits: [number, number][] = [];
  if (pattern) {
    pattern.lastIndex = 0;
    for (let m = pattern.exec(plain); m !== null; m = pattern.exec(plain)) {
      if (m[0].length === 0) break;
      hits.push([m.index, m.index + m[0].length]);
    }
  }
  const out: ReactNode[] = [];
  let offset = 0;
  spans.forEach((span, i) => {
    const start = offset;
    const end = start + span.text.length;
    offset = end;
    const cuts = new Set([start, end]);
    for (const [a, b] of hits) {
      if (a > start && a < end) cuts.add(a);
      if (b > start && b < end) cuts.add(b);
    }
    const points = [...cuts].sort((x, y) => x - y);
    for (let p = 0; p < points.length - 1; p += 1) {
      const a = points[p]!;
      const b = points[p + 1]!;
      const text = span.text.slice(a - start, b - start);
      const inHit = hits.some(([x, y]) => a >= x && b <= y);
      const piece = (
        <span key={`${i}-${a}`} className={span.className || undefined} style={span.style}>
          {text}
        </span>
      );
      out.push(
        inHit ? (
          <mark key={`m${i}-${a}`} className={current ? 'log-hit log-hit-current' : 'log-hit'}>
            {piece}
          </mark>
        ) : (
          piece
        ),
      );
    }
  });
  return out;
}

export interface LogRowProps {
  seq: number;
  top: number;
  spans: AnsiSpan[];
  time: number;
  level: number;
  showTime: boolean;
  showLevel: boolean;
  selected: boolean;
  pattern: RegExp | undefined;
  isMatch: boolean;
  isCurrent: boolean;
}

/**
 * One line: fixed height, monospace, no state of its own. Memoized: a scroll of a few rows
 * re-renders only the rows whose line changed (spans come from the viewer's cache, so they keep
 * their identity while a line stays on screen).
 */
export const LogRow = memo(function LogRow(props: LogRowProps) {
  const classes = ['log-row'];
  if (props.selected) classes.push('log-row-selected');
  if (props.isCurrent) classes.push('log-row-current');
  const levelName = props.level === 0 ? '' : LEVELS[props.level - 1]!;
  return (
    <div
      className={classes.join(' ')}
      data-seq={props.seq}
      data-selected={props.selected ? 'true' : undefined}
      // `top`, not a transform: at a million rows offsets reach 16M px, where float32 transforms
      // lose whole pixels; layout units stay exact.
      style={{ top: props.top }}
    >
      {props.showTime && <span className="log-time">{formatTime(props.time)}</span>}
      {props.showLevel && <span className={`log-level log-level-${levelName || 'none'}`}>{levelName}</span>}
      <span className="log-text">
        {props.isMatch
          ? highlighted(props.spans, props.pattern, props.isCurrent)
          : highlighted(props.spans, undefined, false)}
      </span>
    </div>
  );
});
