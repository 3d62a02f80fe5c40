import { StatusBadge } from '../../ui/StatusBadge.js';
import { useEnvironmentTimeline } from './queries.js';
import { toneOf } from './timeline.js';

const time = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

/** What hearthd did to it, oldest first, from its event log (refetched on each of its events). */
export function StatusTimeline({ id }: { id: string }) {
  const timeline = useEnvironmentTimeline(id);
  const entries = timeline.data?.entries ?? [];
  return (
    <section className="card" aria-labelledby="timeline-title">
      <h2 id="timeline-title">Status timeline</h2>
      {timeline.error && (
        <div className="banner banner-fail" role="alert">
          {timeline.error.message}
        </div>
      )}
      {timeline.isSuccess && entries.length === 0 && <p className="muted">Nothing has happened to it yet.</p>}
      {entries.length > 0 && (
        // It scrolls once a guest has said enough (a provisioned one does): focusable, so the keys scroll it too.
        <ol className="timeline" data-testid="timeline" tabIndex={0} aria-labelledby="timeline-title">
          {entries.map((entry, i) => (
            <li
              key={`${entry.time}-${i}`}
              className={`timeline-item timeline-${toneOf(entry)}`}
              data-event={entry.event}
            >
              <span className="timeline-dot" aria-hidden="true" />
              <div className="timeline-body">
                <div className="timeline-head">
                  <StatusBadge tone={toneOf(entry)} label={entry.event} />
                  <time className="muted small" dateTime={entry.time}>
                    {time.format(new Date(entry.time))}
                  </time>
                </div>
                <p className="timeline-message">{entry.message}</p>
              </div>
            </li>
          ))}
        </ol>
      )}
      {(timeline.data?.skipped ?? 0) > 0 && (
        <p className="muted small" data-testid="timeline-skipped">
          {timeline.data!.skipped} line(s) of the event log could not be read and are not shown.
        </p>
      )}
    </section>
  );
}
