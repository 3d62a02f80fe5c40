// @vitest-environment jsdom
import { act, cleanup, render, screen } from '@testing-library/react';
import { useEffect, useRef } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import type { Environment } from '#protocol';
import { CREATE_BUTTON, ROW_LINK, useFocusAfterChange } from '../../src/features/environments/focusAfterChange.js';

/** Only what the hook reads of an environment: its id. */
const env = (id: string) => ({ id, name: id }) as unknown as Environment;
let hooks: ReturnType<typeof useFocusAfterChange>;

/** The dashboard's shape as far as focus goes: a Create button and one link per row. */
function List({ environments }: { environments: Environment[] }) {
  const root = useRef<HTMLElement>(null);
  const focusAfter = useFocusAfterChange(root, environments);
  useEffect(() => {
    hooks = focusAfter;
  });
  return (
    <section ref={root}>
      <button type="button" {...{ [CREATE_BUTTON]: '' }}>
        Create environment
      </button>
      {environments.map((e) => (
        <a key={e.id} href={`#/environments/${e.id}`} {...{ [ROW_LINK]: e.id }}>
          {e.id}
        </a>
      ))}
      <button type="button">elsewhere</button>
    </section>
  );
}

const focused = () => document.activeElement?.textContent;

describe('focus after a create or a delete', () => {
  afterEach(cleanup);

  it('goes to the new environment’s link once the list shows it', () => {
    const { rerender } = render(<List environments={[env('a')]} />);
    act(() => hooks.created(env('b')));
    expect(focused()).not.toBe('b');
    rerender(<List environments={[env('a'), env('b')]} />);
    expect(focused()).toBe('b');
  });

  it('goes to the next row after a delete, or the one before when it was the last', () => {
    const three = [env('a'), env('b'), env('c')];
    const { rerender } = render(<List environments={three} />);
    act(() => hooks.deleting(three[1]!, three));
    // Not while it is still listed (hearthd is deleting it).
    rerender(<List environments={three} />);
    expect(focused()).not.toBe('c');
    rerender(<List environments={[env('a'), env('c')]} />);
    expect(focused()).toBe('c');

    act(() => hooks.deleting(env('c'), [env('a'), env('c')]));
    rerender(<List environments={[env('a')]} />);
    expect(focused()).toBe('a');
  });

  it('goes to Create environment when no row is left, and nowhere after a failed delete', () => {
    const { rerender } = render(<List environments={[env('a')]} />);
    act(() => hooks.deleting(env('a'), [env('a')]));
    rerender(<List environments={[]} />);
    expect(focused()).toBe('Create environment');

    screen.getByText('elsewhere').focus();
    rerender(<List environments={[env('x')]} />);
    act(() => hooks.deleting(env('x'), [env('x')]));
    act(() => hooks.cancel());
    rerender(<List environments={[]} />);
    expect(focused()).toBe('elsewhere');
  });
});
