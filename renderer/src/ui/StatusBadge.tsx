export type Tone = 'pass' | 'warn' | 'fail' | 'info' | 'idle';

const GLYPH: Record<Tone, string> = { pass: '✓', warn: '!', fail: '✕', info: '…', idle: '·' };

/** Status shown by text and glyph, with colour only as a third cue. */
export function StatusBadge(props: { tone: Tone; label: string; testId?: string }) {
  return (
    <span className={`badge badge-${props.tone}`} data-testid={props.testId}>
      <span className="badge-glyph" aria-hidden="true">
        {GLYPH[props.tone]}
      </span>
      {props.label}
    </span>
  );
}
