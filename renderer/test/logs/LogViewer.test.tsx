// @vitest-environment jsdom
import { act, cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { HearthApi, SubscriptionEvent } from '#protocol';
import { LogViewer } from '../../src/features/logs/LogViewer.js';

/** jsdom has no layout: give the scroll container a height and a scrollTop that obeys its content. */
const VIEWPORT = 180;
const scrollTops = new WeakMap<Element, number>();
const contentHeight = (el: Element) =>
  parseFloat((el.firstElementChild as HTMLElement | null)?.style.height ?? '0') || 0;
beforeAll(() => {
  const isLog = (el: Element) => el.classList.contains('log-scroll');
  Object.defineProperty(HTMLElement.prototype, 'clientHeight', {
    configurable: true,
    get(this: HTMLElement) {
      return isLog(this) ? VIEWPORT : 0;
    },
  });
  Object.defineProperty(HTMLElement.prototype, 'scrollHeight', {
    configurable: true,
    get(this: HTMLElement) {
      return isLog(this) ? Math.max(VIEWPORT, contentHeight(this)) : 0;
    },
  });
  Object.defineProperty(HTMLElement.prototype, 'scrollTop', {
    configurable: true,
    get(this: HTMLElement) {
      return scrollTops.get(this) ?? 0;
    },
    set(this: HTMLElement, value: number) {
      const max = Math.max(0, this.scrollHeight - this.clientHeight);
      scrollTops.set(this, Math.min(max, Math.max(0, value)));
    },
  });
  HTMLElement.prototype.scrollTo = function (this: HTMLElement, options?: ScrollToOptions | number) {
    this.scrollTop = typeof options === 'object' ? (options.top ?? this.scrollTop) : 0;
    this.dispatchEvent(new Event('scroll'));
  };
});

/** A stand-in for window.hearth: records calls, and lets the test push subscription items. */
class FakeHearth {
  calls: { name: string; request: unknown }[] = [];
  private listeners = new Set<(event: SubscriptionEvent) => void>();
  api: HearthApi = {
    invoke: (name, request) => {
      this.calls.push({ name, request });
      const value = name === 'subscribe' ? { id: 'sub-1' } : name === 'saveLog' ? { path: '/tmp/x.log' } : {};
      return Promise.resolve({ ok: true, value } as never);
    },
    on: (name, listener) => {
      if (name !== 'subscription') return () => undefined;
      const l = listener as (event: SubscriptionEvent) => void;
      this.listeners.add(l);
      return () => this.listeners.delete(l);
    },
  };
  push(lines: string[]) {
    act(() => {
      for (const l of this.listeners) l({ id: 'sub-1', topic: 'logs', kind: 'item', item: { type: 'lines', lines } });
    });
  }
  pushEntries(entries: { level: 'info' | 'warn' | 'error' | 'debug'; msg: string }[]) {
    act(() => {
      for (const l of this.listeners)
        l({
          id: 'sub-1',
          topic: 'hearthdLog',
          kind: 'item',
          item: {
            type: 'entries',
            entries: entries.map((e, i) => ({ seq: i + 1, time: '2025-01-02T03:04:05.000Z', ...e })),
          },
        });
    });
  }
}

let hearth: FakeHearth;
beforeEach(() => {
  hearth = new FakeHearth();
  Object.defineProperty(window, 'hearth', { value: hearth.api, configurable: true });
});
afterEach(cleanup);

const viewer = () => screen.getByTestId('log-viewer');
const scroller = () => screen.getByTestId('log-scroll');
const lines = (from: number, count: number) => Array.from({ length: count }, (_, i) => `line ${from + i}`);
const frames = () => act(() => new Promise((r) => setTimeout(r, 40)));

async function open(
  feed: Parameters<typeof LogViewer>[0]['feed'] = { kind: 'environment', id: 'web', source: 'console' },
) {
  render(<LogViewer feed={feed} label="Console of web" />);
  await waitFor(() => expect(hearth.calls.some((c) => c.name === 'subscribe')).toBe(true));
  await frames();
}

describe('LogViewer', () => {
  it('subscribes to its feed and shows the lines that arrive', async () => {
    await open();
    expect(hearth.calls[0]).toEqual({
      name: 'subscribe',
      request: { topic: 'logs', request: { params: { id: 'web' }, query: { tail: 5000, source: 'console' } } },
    });
    hearth.push(lines(0, 3));
    await frames();
    expect(viewer().dataset.lines).toBe('3');
    expect(screen.getByRole('log', { name: 'Console of web lines' }).textContent).toContain('line 2');
  });

  it('follows the end, pauses when scrolled up, counts new lines and jumps back to live', async () => {
    await open();
    hearth.push(lines(0, 100));
    await frames();
    const el = scroller();
    expect(viewer().dataset.following).toBe('true');
    expect(el.scrollTop).toBe(el.scrollHeight - VIEWPORT);

    hearth.push(lines(100, 50));
    await frames();
    expect(el.scrollTop).toBe(el.scrollHeight - VIEWPORT); // still at the end

    el.scrollTop = 200; // the user scrolls up
    fireEvent.scroll(el);
    await frames();
    expect(viewer().dataset.following).toBe('false');
    hearth.push(lines(150, 7));
    await frames();
    expect(el.scrollTop).toBe(200); // paused: stays where the user is
    const jump = screen.getByRole('button', { name: 'Jump to live' });
    expect(jump.textContent).toContain('7 new');

    fireEvent.click(jump);
    await frames();
    expect(viewer().dataset.following).toBe('true');
    expect(el.scrollTop).toBe(el.scrollHeight - VIEWPORT);

    fireEvent.keyDown(el, { key: 'Home' });
    await frames();
    expect(viewer().dataset.following).toBe('false');
    fireEvent.keyDown(el, { key: 'End' });
    await frames();
    expect(viewer().dataset.following).toBe('true');
  });

  it('searches with a match count, Enter / Shift+Enter and wrap-around', async () => {
    await open();
    hearth.push(['boot', 'ERROR one', 'ok', 'error two', 'ok', 'an error three']);
    await frames();
    const input = screen.getByLabelText('Search log');
    fireEvent.change(input, { target: { value: 'error' } });
    const count = screen.getByTestId('log-match-count');
    await waitFor(() => expect(count.textContent).toBe('1 of 3'));
    fireEvent.keyDown(input, { key: 'Enter' });
    await waitFor(() => expect(count.textContent).toBe('2 of 3'));
    fireEvent.keyDown(input, { key: 'Enter' });
    fireEvent.keyDown(input, { key: 'Enter' });
    await waitFor(() => expect(count.textContent).toBe('1 of 3'));
    fireEvent.keyDown(input, { key: 'Enter', shiftKey: true });
    await waitFor(() => expect(count.textContent).toBe('3 of 3'));
    fireEvent.click(screen.getByRole('button', { name: 'Previous match' }));
    await waitFor(() => expect(count.textContent).toBe('2 of 3'));
    expect(document.querySelectorAll('mark.log-hit').length).toBeGreaterThan(0);
  });

  it('filters hearthd entries by level', async () => {
    await open({ kind: 'hearthd' });
    expect(hearth.calls[0]!.request).toMatchObject({ topic: 'hearthdLog' });
    hearth.pushEntries([
      { level: 'debug', msg: 'polling' },
      { level: 'info', msg: 'started web' },
      { level: 'warn', msg: 'slow disk' },
      { level: 'error', msg: 'qemu died' },
    ]);
    await frames();
    const log = screen.getByRole('log');
    expect(log.textContent).toContain('polling');
    fireEvent.change(screen.getByLabelText('Level'), { target: { value: 'warn' } });
    await frames();
    expect(log.textContent).not.toContain('polling');
    expect(log.textContent).not.toContain('started web');
    expect(log.textContent).toContain('slow disk');
    expect(log.textContent).toContain('qemu died');
    expect(viewer().dataset.lines).toBe('4');
  });

  it('copies the lines selected by click and shift+click, ANSI removed', async () => {
    await open();
    hearth.push(['zero', '\x1b[32mone\x1b[0m', 'two', 'three']);
    await frames();
    const row = (text: string) => [...document.querySelectorAll('.log-row')].find((r) => r.textContent.includes(text))!;
    fireEvent.click(row('one'));
    fireEvent.click(row('three'), { shiftKey: true });
    fireEvent.click(screen.getByRole('button', { name: 'Copy' }));
    await waitFor(() => expect(hearth.calls.some((c) => c.name === 'copyText')).toBe(true));
    expect(hearth.calls.find((c) => c.name === 'copyText')!.request).toEqual({ text: 'one\ntwo\nthree' });
  });

  it('saves the view through main', async () => {
    await open();
    hearth.push(['a', 'b']);
    await frames();
    fireEvent.click(screen.getByLabelText('Timestamps')); // off: plain lines
    fireEvent.click(screen.getByRole('button', { name: 'Save…' }));
    await waitFor(() => expect(screen.getByText(/Saved 2 lines to \/tmp\/x.log/)).toBeTruthy());
    const save = hearth.calls.find((c) => c.name === 'saveLog')!.request as { suggestedName: string; text: string };
    expect(save.text).toBe('a\nb\n');
    expect(save.suggestedName).toMatch(/^console-of-web-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.log$/);
  });
});
