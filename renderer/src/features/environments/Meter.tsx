import { fraction } from './format.js';

/**
 * A horizontal bar for "part of whole", announced as a meter with its figures in words. The width
 * goes through React's style prop (CSSOM), which the strict CSP allows.
 */
export function Meter(props: { label: string; value: number; max: number; text: string; testId?: string }) {
  const share = fraction(props.value, props.max);
  const tone = share >= 0.9 ? 'meter-high' : share >= 0.7 ? 'meter-mid' : '';
  return (
    <div
      className={`meter ${tone}`}
      role="meter"
      aria-label={props.label}
      aria-valuemin={0}
      aria-valuemax={props.max}
      aria-valuenow={Math.min(props.value, props.max)}
      aria-valuetext={props.text}
      data-testid={props.testId}
    >
      <div className="meter-fill" style={{ width: `${(share * 100).toFixed(1)}%` }} />
    </div>
  );
}

/** A bar for a passing state whose end hearthd does not predict: it moves, and says what happens. */
export function Indeterminate(props: { label: string }) {
  return (
    <div className="indeterminate" role="progressbar" aria-label={props.label} aria-valuetext={props.label}>
      <div className="indeterminate-bar" />
    </div>
  );
}
