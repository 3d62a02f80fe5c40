import { useId, useRef, useState, type KeyboardEvent } from 'react';
import { LogViewer } from '../logs/LogViewer.js';

const TABS = [
  { source: 'console', title: 'Console' },
  { source: 'events', title: 'Events' },
] as const;
type Source = (typeof TABS)[number]['source'];

/** Its serial console and hearthd's event log, as tabs (arrow keys move between them, as ARIA tabs do). */
export function EnvironmentLogs(props: { id: string; name: string }) {
  const [source, setSource] = useState<Source>('console');
  const base = useId();
  const refs = useRef<(HTMLButtonElement | null)[]>([]);
  const onKey = (event: KeyboardEvent, index: number) => {
    const step = event.key === 'ArrowRight' ? 1 : event.key === 'ArrowLeft' ? -1 : 0;
    if (!step) return;
    const next = (index + step + TABS.length) % TABS.length;
    setSource(TABS[next]!.source);
    refs.current[next]?.focus();
  };
  const current = TABS.find((t) => t.source === source)!;
  return (
    <section className="card" aria-labelledby={`${base}-title`}>
      <div className="card-head">
        <h2 id={`${base}-title`}>Logs</h2>
        <div className="tabs" role="tablist" aria-label={`Logs of ${props.name}`}>
          {TABS.map((tab, i) => (
            <button
              key={tab.source}
              ref={(el) => {
                refs.current[i] = el;
              }}
              type="button"
              role="tab"
              id={`${base}-${tab.source}`}
              className="tab"
              aria-selected={tab.source === source}
              aria-controls={`${base}-panel`}
              tabIndex={tab.source === source ? 0 : -1}
              onClick={() => setSource(tab.source)}
              onKeyDown={(e) => onKey(e, i)}
            >
              {tab.title}
            </button>
          ))}
        </div>
      </div>
      <div role="tabpanel" id={`${base}-panel`} aria-labelledby={`${base}-${source}`}>
        {/* keyed: a new source is a new feed, not the old buffer with other lines appended */}
        <LogViewer
          key={source}
          feed={{ kind: 'environment', id: props.id, source }}
          label={`${current.title} of ${props.name}`}
        />
      </div>
    </section>
  );
}
