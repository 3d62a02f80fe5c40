import { useId, type KeyboardEvent } from 'react';
import { Button } from '../../ui/Button.js';
import { LEVELS, type Level, type Source } from './log-buffer.js';
import type { LogFilter } from './log-view.js';

export interface LogToolbarProps {
  query: string;
  onQuery: (query: string) => void;
  matchIndex: number;
  matchCount: number;
  scanning: boolean;
  onNext: () => void;
  onPrevious: () => void;
  filter: LogFilter;
  onFilter: (filter: LogFilter) => void;
  /** Offer a level filter (only feeds whose lines have levels). */
  levelFilter: boolean;
  /** The sources merged in this viewer; a source filter appears when there are several. */
  sources: readonly Source[];
  showTime: boolean;
  onShowTime: (show: boolean) => void;
  canCopy: boolean;
  onCopy: () => void;
  onSave: () => void;
}

const SOURCE_NAMES: Record<Source, string> = { console: 'Console', events: 'Events', hearthd: 'hearthd' };

/** "warn and above" as the set of levels it lets through. */
const atLeast = (level: Level): Set<Level> => new Set(LEVELS.slice(LEVELS.indexOf(level)));
const minimumOf = (levels: ReadonlySet<Level>): Level => LEVELS.find((l) => levels.has(l)) ?? 'trace';

/** Search, filters and actions above a log. Every control is a labelled native element. */
export function LogToolbar(props: LogToolbarProps) {
  const searchId = useId();
  const levelId = useId();
  const onSearchKey = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key !== 'Enter') return;
    event.preventDefault();
    if (event.shiftKey) props.onPrevious();
    else props.onNext();
  };
  const counter =
    props.query === ''
      ? ''
      : props.matchCount === 0
        ? props.scanning
          ? 'Searching…'
          : 'No matches'
        : `${props.matchIndex + 1} of ${props.matchCount}${props.scanning ? '…' : ''}`;
  return (
    <div className="log-toolbar">
      <div className="log-search">
        <label htmlFor={searchId} className="log-label">
          Search log
        </label>
        <input
          id={searchId}
          type="search"
          className="log-input"
          value={props.query}
          placeholder="Search"
          onChange={(e) => props.onQuery(e.target.value)}
          onKeyDown={onSearchKey}
        />
        <span className="log-count muted small" aria-live="polite" data-testid="log-match-count">
          {counter}
        </span>
        <Button small onClick={props.onPrevious} disabled={props.matchCount === 0} aria-label="Previous match">
          ↑
        </Button>
        <Button small onClick={props.onNext} disabled={props.matchCount === 0} aria-label="Next match">
          ↓
        </Button>
      </div>
      {props.levelFilter && (
        <div className="log-filter">
          <label htmlFor={levelId} className="log-label">
            Level
          </label>
          <select
            id={levelId}
            className="log-input"
            value={minimumOf(props.filter.levels)}
            onChange={(e) => props.onFilter({ ...props.filter, levels: atLeast(e.target.value as Level) })}
          >
            {LEVELS.map((level) => (
              <option key={level} value={level}>
                {level === 'trace' ? 'all levels' : `${level} and above`}
              </option>
            ))}
          </select>
        </div>
      )}
      {props.sources.length > 1 && (
        <fieldset className="log-filter log-sources">
          <legend className="log-label">Sources</legend>
          {props.sources.map((source) => (
            <label key={source} className="log-check">
              <input
                type="checkbox"
                checked={props.filter.sources.has(source)}
                onChange={(e) => {
                  const sources = new Set(props.filter.sources);
                  if (e.target.checked) sources.add(source);
                  else sources.delete(source);
                  props.onFilter({ ...props.filter, sources });
                }}
              />
              {SOURCE_NAMES[source]}
            </label>
          ))}
        </fieldset>
      )}
      <label className="log-check">
        <input type="checkbox" checked={props.showTime} onChange={(e) => props.onShowTime(e.target.checked)} />
        Timestamps
      </label>
      <div className="log-actions">
        <Button small onClick={props.onCopy} disabled={!props.canCopy}>
          Copy
        </Button>
        <Button small onClick={props.onSave}>
          Save…
        </Button>
      </div>
    </div>
  );
}
