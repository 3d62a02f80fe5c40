const WIDTH = 120;
const HEIGHT = 28;

/** SVG points for values over a fixed width; the scale's top is `max`, or the largest value if higher. */
export function sparkPoints(values: readonly number[], max = 0): string {
  if (values.length === 0) return '';
  const top = Math.max(max, ...values) || 1;
  const step = values.length > 1 ? WIDTH / (values.length - 1) : 0;
  return values
    .map((v, i) => `${(i * step).toFixed(1)},${(HEIGHT - 1 - (v / top) * (HEIGHT - 2)).toFixed(1)}`)
    .join(' ');
}

/**
 * A small trend line (no chart library: a polyline is all it needs). Its accessible name carries
 * what the line shows, since a screen reader cannot see the shape.
 */
export function Sparkline(props: { values: readonly number[]; max?: number; label: string; testId?: string }) {
  if (props.values.length < 2) return <span className="sparkline-empty muted small">collecting…</span>;
  return (
    <svg
      className="sparkline"
      viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      preserveAspectRatio="none"
      role="img"
      aria-label={props.label}
      data-testid={props.testId}
    >
      <polyline className="sparkline-line" points={sparkPoints(props.values, props.max)} />
    </svg>
  );
}
