import { useVirtualizer } from '@tanstack/react-virtual';
import { useCallback, useId, useLayoutEffect, useRef, useState, type KeyboardEvent, type MouseEvent } from 'react';
import { call } from '../../hearth.js';
import { Button } from '../../ui/Button.js';
import { COPY_MAX_CHARS, exportRows, SAVE_MAX_CHARS, suggestedName } from './log-export.js';
import { sourceOf, type LogFeed } from './log-feed.js';
import { useLogModel } from './log-model.js';
import type { LogFilter } from './log-view.js';
import { LogRow, ROW_HEIGHT } from './LogRow.js';
import { LogToolbar } from './LogToolbar.js';
import './logs.css';

export type { LogFeed } from './log-feed.js';

export interface LogViewerProps {
  /** One feed, or several merged into one viewer (then a source filter appears). */
  feed: LogFeed | readonly LogFeed[];
  /** Accessible name of the viewer region, e.g. "Console of web". */
  label: string;
}

interface Selection {
  anchor: number;
  focus: number;
}

/** Within this many pixels of the end counts as "at the end" (sub-pixel scroll positions). */
const END_SLACK = 4;
const BLOCK_ROWS = 256;
const OVERSCAN_ROWS = 12;
/**
 * Rows are keyed by slot (row mod this), not by line: a row that scrolls out hands its DOM
 * nodes to the row that scrolls in, so a frame of fresh rows updates text and `top` instead of
 * building and collecting ~600 nodes (what filled the long frames of a fast scroll: new layout
 * objects, style recalc, and the major GCs that collect the old nodes). More than the rows of
 * any screen plus overscan, so the rows on screen never share a key.
 */
const ROW_SLOTS = 1024;

/**
 * A log of up to a million and a half lines: a virtualized list (only the rows on screen are in
 * the DOM) over a buffer kept outside React (log-buffer.ts). It follows the end while new lines
 * arrive, pauses when the user scrolls up (with a "Jump to live" control counting what arrived
 * since), searches and filters without freezing the frame, and copies or saves what it shows.
 */
export function LogViewer({ feed, label }: LogViewerProps) {
  const feeds = Array.isArray(feed) ? (feed as readonly LogFeed[]) : [feed as LogFeed];
  const model = useLogModel(feeds);
  const { buffer, view, search } = model;
  const scrollRef = useRef<HTMLDivElement>(null);
  const newId = useId();
  const [following, setFollowing] = useState(true);
  const [addedAtPause, setAddedAtPause] = useState(0);
  const [showTime, setShowTime] = useState(true);
  const [query, setQuery] = useState('');
  const [filter, setFilterState] = useState<LogFilter>(view.getFilter());
  const [selection, setSelection] = useState<Selection | undefined>();
  const [notice, setNotice] = useState<string | undefined>();
  /** Where we last put scrollTop ourselves: a scroll event above it is the user's. */
  const placedAt = useRef(0);
  const removedSeen = useRef(view.removed);

  const count = view.length;
  // The virtualizer windows blocks of rows, not rows: it recomputes its item table each time
  // the count changes, which at a million rows (and a new count every frame while following)
  // would cost a frame by itself. Within the blocks on screen, rows are fixed height, so which
  // of them show is arithmetic.
  const blocks = Math.ceil(count / BLOCK_ROWS);
  // eslint-disable-next-line react-hooks/incompatible-library -- rows are re-read each render; nothing memoizes the virtualizer's functions
  const virtualizer = useVirtualizer({
    count: blocks,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => BLOCK_ROWS * ROW_HEIGHT,
    overscan: 0,
  });
  const offset = virtualizer.scrollOffset ?? 0;
  const viewport = virtualizer.scrollRect?.height ?? 0;
  const firstRow = Math.max(0, Math.floor(offset / ROW_HEIGHT) - OVERSCAN_ROWS);
  const lastRow = Math.min(count - 1, Math.ceil((offset + viewport) / ROW_HEIGHT) + OVERSCAN_ROWS);
  const visibleRows: number[] = [];
  for (const block of virtualizer.getVirtualItems()) {
    const from = Math.max(firstRow, block.index * BLOCK_ROWS);
    const to = Math.min(lastRow, (block.index + 1) * BLOCK_ROWS - 1);
    for (let row = from; row <= to; row += 1) visibleRows.push(row);
  }

  const pause = useCallback(() => {
    setFollowing((was) => {
      if (was) setAddedAtPause(view.added);
      return false;
    });
  }, [view]);

  const toEnd = useCallback(() => {
    const el = scrollRef.current;
    if (!el) return;
    el.scrollTop = el.scrollHeight;
    placedAt.current = el.scrollTop;
  }, []);

  const jumpToLive = useCallback(() => {
    setFollowing(true);
    toEnd();
    scrollRef.current?.focus();
  }, [toEnd]);

  // After every render: stick to the end while following; while paused, keep the same lines in
  // place when the buffer drops its oldest (otherwise the text would slide up under the reader).
  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (!el) return;
    const removed = view.removed - removedSeen.current;
    removedSeen.current = view.removed;
    if (following) toEnd();
    else if (removed > 0) {
      el.scrollTop = Math.max(0, el.scrollTop - removed * ROW_HEIGHT);
      placedAt.current = el.scrollTop;
    }
  });

  const onScroll = () => {
    const el = scrollRef.current;
    if (!el) return;
    const atEnd = el.scrollHeight - el.scrollTop - el.clientHeight <= END_SLACK;
    if (atEnd) {
      if (!following) setFollowing(true);
    } else if (following && el.scrollTop < placedAt.current - 1) {
      pause();
    }
    placedAt.current = Math.min(placedAt.current, el.scrollTop);
    if (atEnd) placedAt.current = el.scrollTop;
  };

  const scrollToRow = (row: number) => {
    pause();
    virtualizer.scrollToOffset(Math.max(0, row * ROW_HEIGHT - (viewport - ROW_HEIGHT) / 2));
  };

  const onQuery = (next: string) => {
    setQuery(next);
    void search.setQuery(next).then(() => model.notify());
  };
  const goTo = (seq: number | undefined) => {
    if (seq !== undefined && buffer.has(seq)) scrollToRow(view.rowOf(seq));
  };
  // The first match scrolls into view as soon as the scan finds it.
  const shownFirst = useRef<string>('');
  useLayoutEffect(() => {
    if (query === '' || search.count === 0 || shownFirst.current === query) return;
    shownFirst.current = query;
    goTo(search.currentSeq);
  });

  const setFilter = (next: LogFilter) => {
    setFilterState(next);
    view.setFilter(next);
    removedSeen.current = view.removed;
    setSelection(undefined);
    void search.restart();
    model.notify();
  };

  const selectedRows = (): [number, number] | undefined => {
    if (!selection || !buffer.has(selection.anchor) || !buffer.has(selection.focus)) return undefined;
    const a = view.rowOf(selection.anchor);
    const b = view.rowOf(selection.focus);
    return [Math.min(a, b), Math.min(Math.max(a, b), count - 1)];
  };

  const copy = async () => {
    const rows = selectedRows();
    if (!rows) return;
    const out = exportRows(view, rows[0], rows[1], false, COPY_MAX_CHARS);
    try {
      await call('copyText', { text: out.text.replace(/\n$/, '') || ' ' });
      setNotice(
        out.rows < out.of
          ? `Copied the last ${out.rows} of ${out.of} selected lines (copy takes ${COPY_MAX_CHARS} characters); use Save… for more.`
          : `Copied ${out.rows} line${out.rows === 1 ? '' : 's'}.`,
      );
    } catch (error) {
      setNotice(`Could not copy: ${(error as Error).message}`);
    }
  };

  const save = async () => {
    if (count === 0) return;
    const out = exportRows(view, 0, count - 1, showTime, SAVE_MAX_CHARS);
    try {
      const result = await call('saveLog', { suggestedName: suggestedName(label), text: out.text });
      if ('cancelled' in result) return;
      setNotice(
        out.rows < out.of
          ? `Saved the newest ${out.rows} of ${out.of} lines to ${result.path} (a save holds at most 64 MiB).`
          : `Saved ${out.rows} lines to ${result.path}.`,
      );
    } catch (error) {
      setNotice(`Could not save: ${(error as Error).message}`);
    }
  };

  const onRowClick = (event: MouseEvent<HTMLDivElement>) => {
    const row = (event.target as HTMLElement).closest<HTMLElement>('[data-seq]');
    if (!row) return;
    const seq = Number(row.dataset.seq);
    setSelection((current) =>
      event.shiftKey && current ? { anchor: current.anchor, focus: seq } : { anchor: seq, focus: seq },
    );
    pause();
  };

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const el = scrollRef.current;
    if (!el) return;
    const by = (dy: number) => {
      event.preventDefault();
      el.scrollTop += dy;
    };
    const ctrl = event.ctrlKey || event.metaKey;
    if (ctrl && event.key.toLowerCase() === 'c' && selection && (window.getSelection()?.isCollapsed ?? true)) {
      event.preventDefault();
      void copy();
      return;
    }
    switch (event.key) {
      case 'ArrowDown':
        by(ROW_HEIGHT);
        return;
      case 'ArrowUp':
        by(-ROW_HEIGHT);
        return;
      case 'PageDown':
        by(el.clientHeight - ROW_HEIGHT);
        return;
      case 'PageUp':
        by(-(el.clientHeight - ROW_HEIGHT));
        return;
      case 'Home':
        event.preventDefault();
        pause();
        el.scrollTop = 0;
        return;
      case 'End':
        event.preventDefault();
        jumpToLive();
        return;
      case 'Escape':
        setSelection(undefined);
        return;
    }
  };

  const sources = [...new Set(feeds.map(sourceOf))];
  const hasLevels = sources.includes('hearthd');
  const status = model.status;
  const pattern = search.pattern;
  const currentSeq = search.currentSeq;
  const rows = selectedRows();
  const newLines = following ? 0 : view.added - addedAtPause;

  return (
    <section
      className="card log-viewer"
      aria-label={label}
      data-testid="log-viewer"
      data-lines={buffer.size}
      data-dropped={buffer.dropped}
      data-following={String(following)}
    >
      <LogToolbar
        query={query}
        onQuery={onQuery}
        matchIndex={search.currentIndex}
        matchCount={search.count}
        scanning={search.scanning}
        onNext={() => goTo(search.next())}
        onPrevious={() => goTo(search.previous())}
        filter={filter}
        onFilter={setFilter}
        levelFilter={hasLevels}
        sources={sources}
        showTime={showTime}
        onShowTime={setShowTime}
        canCopy={rows !== undefined}
        onCopy={() => void copy()}
        onSave={() => void save()}
      />
      <div className="log-status muted small">
        <span>
          {buffer.size.toLocaleString()} lines
          {count !== buffer.size && ` · ${count.toLocaleString()} shown`}
        </span>
        {buffer.dropped > 0 && (
          <span data-testid="log-dropped">
            {' '}
            · {buffer.dropped.toLocaleString()} older lines dropped (the viewer keeps the newest{' '}
            {buffer.caps.maxLines.toLocaleString()})
          </span>
        )}
        {status.state === 'connecting' && <span> · connecting…</span>}
        {status.state === 'ended' && (
          <span className="log-ended" role="status">
            {' '}
            · {status.error ? `stopped: ${status.error.message}` : 'the log stream ended'}{' '}
            <Button small onClick={() => model.resume()}>
              Resume
            </Button>
          </span>
        )}
        {notice && (
          <span role="status" className="log-notice">
            {' '}
            · {notice}
          </span>
        )}
      </div>
      <div className="log-frame">
        <div
          ref={scrollRef}
          className="log-scroll"
          data-testid="log-scroll"
          role="log"
          aria-label={`${label} lines`}
          aria-live="off"
          tabIndex={0}
          onScroll={onScroll}
          onKeyDown={onKeyDown}
          onClick={onRowClick}
        >
          <div className="log-canvas" style={{ height: count * ROW_HEIGHT }}>
            {visibleRows.map((row) => {
              const seq = view.seqAt(row);
              return (
                <LogRow
                  key={row % ROW_SLOTS}
                  seq={seq}
                  top={row * ROW_HEIGHT}
                  spans={model.ansi.spans(seq, buffer.text(seq))}
                  time={buffer.time(seq)}
                  level={buffer.levelCode(seq)}
                  showTime={showTime}
                  showLevel={hasLevels}
                  selected={rows !== undefined && row >= rows[0] && row <= rows[1]}
                  pattern={pattern}
                  isMatch={pattern !== undefined && search.isMatch(seq)}
                  isCurrent={seq === currentSeq}
                />
              );
            })}
          </div>
        </div>
        {!following && (
          <Button
            className="log-live"
            variant="primary"
            small
            onClick={jumpToLive}
            aria-label="Jump to live"
            aria-describedby={newLines > 0 ? newId : undefined}
          >
            Jump to live
            {newLines > 0 && <span id={newId}> ({newLines.toLocaleString()} new)</span>}
          </Button>
        )}
      </div>
    </section>
  );
}
