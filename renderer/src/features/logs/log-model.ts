import { useEffect, useState, useSyncExternalStore } from 'react';
import { AnsiCache } from './ansi.js';
import { LogBuffer, type BufferCaps } from './log-buffer.js';
import { FeedFollower, type FeedStatus, type LogFeed } from './log-feed.js';
import { LogSearch } from './log-search.js';
import { LogView } from './log-view.js';

/**
 * Everything one viewer holds, outside React: the buffer, the filtered view over it, the
 * search, the ANSI cache and the followers that fill it. React only reads a tick that changes
 * at most once per animation frame, however many batches arrived in it.
 */
export class LogModel {
  readonly buffer: LogBuffer;
  readonly view: LogView;
  readonly search: LogSearch;
  readonly ansi = new AnsiCache();
  readonly followers: FeedFollower[];
  private tick = 0;
  private scheduled = false;
  private lastNotified = 0;
  /** buffer.end at the last tick: how many lines arrived since the viewer last rendered. */
  private endShown = 0;
  private readonly listeners = new Set<() => void>();

  constructor(
    readonly feeds: readonly LogFeed[],
    caps?: BufferCaps,
  ) {
    this.buffer = new LogBuffer(caps);
    this.view = new LogView(this.buffer);
    this.search = new LogSearch(this.view);
    this.followers = feeds.map((feed) => new FeedFollower(feed, this.buffer));
    this.buffer.subscribe(() => {
      this.search.update();
      this.schedule(this.buffer.end - this.endShown >= BULK_LINES);
    });
    this.search.subscribe(() => this.schedule());
    for (const follower of this.followers) follower.subscribe(() => this.schedule());
  }

  start(): void {
    for (const follower of this.followers) follower.start();
  }

  stop(): void {
    for (const follower of this.followers) follower.stop();
  }

  resume(): void {
    for (const follower of this.followers) if (follower.status.state === 'ended') follower.resume();
  }

  /** The worst status of the followers: one ended feed is worth saying. */
  get status(): FeedStatus {
    const statuses = this.followers.map((f) => f.status);
    return (
      statuses.find((s) => s.state === 'ended') ??
      statuses.find((s) => s.state === 'connecting') ??
      statuses[0] ?? { state: 'live' }
    );
  }

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  readonly snapshot = (): number => this.tick;

  /** Bumps the tick now (tests, and changes made by the viewer itself). */
  notify(): void {
    this.lastNotified = performance.now();
    this.endShown = this.buffer.end;
    this.tick += 1;
    for (const listener of this.listeners) listener();
  }

  /**
   * A tick on the next frame; while lines pour in (`bulk`), at most one per BULK_INTERVAL_MS:
   * following a burst, each frame's render replaced every row on screen, and those renders
   * (with their layout) were a third of the renderer's time, competing with taking the lines in.
   */
  private schedule(bulk = false): void {
    if (this.scheduled) return;
    this.scheduled = true;
    const run = () => {
      this.scheduled = false;
      this.notify();
    };
    const frame = () =>
      typeof requestAnimationFrame === 'function' ? requestAnimationFrame(run) : setTimeout(run, 16);
    const wait = bulk ? this.lastNotified + BULK_INTERVAL_MS - performance.now() : 0;
    if (wait > 0) setTimeout(frame, wait);
    else frame();
  }
}

/** Lines arrived since the last render that make it a burst, and how often a burst renders. */
const BULK_LINES = 2_000;
const BULK_INTERVAL_MS = 100;

const feedKey = (feeds: readonly LogFeed[]) => JSON.stringify(feeds);

/** One model per set of feeds, started while mounted; re-renders once per frame with changes. */
export function useLogModel(feeds: readonly LogFeed[]): LogModel {
  const key = feedKey(feeds);
  const [state, setState] = useState(() => ({ key, model: new LogModel(feeds) }));
  let model = state.model;
  if (state.key !== key) {
    model = new LogModel(feeds);
    setState({ key, model });
  }
  useEffect(() => {
    model.start();
    return () => model.stop();
  }, [model]);
  useSyncExternalStore(model.subscribe, model.snapshot);
  return model;
}
