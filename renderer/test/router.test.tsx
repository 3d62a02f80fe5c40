// @vitest-environment jsdom
import { act, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { hrefOf, navigate, parseHash, useRoute, type Route } from '../src/app/router.js';

function Where() {
  const route = useRoute();
  return <p data-testid="where">{JSON.stringify(route)}</p>;
}

describe('hash router', () => {
  afterEach(() => {
    window.location.hash = '';
  });

  it('round-trips every route through its href', () => {
    const routes: Route[] = [
      { page: 'dashboard' },
      { page: 'environment', id: 'web' },
      { page: 'environment', id: 'a b/c' },
      { page: 'logs' },
      { page: 'settings' },
      { page: 'settings', section: 'repositories' },
      { page: 'setup' },
    ];
    for (const route of routes) expect(parseHash(hrefOf(route))).toEqual(route);
  });

  it('sends unknown hashes to the dashboard', () => {
    for (const hash of ['', '#', '#/nope', '#/environments/', '#/environments/a/b', '#/settings/nope']) {
      expect(parseHash(hash)).toEqual({ page: 'dashboard' });
    }
  });

  it('re-renders when the hash changes', async () => {
    render(<Where />);
    expect(screen.getByTestId('where').textContent).toBe('{"page":"dashboard"}');
    await act(async () => {
      navigate({ page: 'environment', id: 'web' });
      await new Promise((resolve) => window.addEventListener('hashchange', resolve, { once: true }));
    });
    expect(screen.getByTestId('where').textContent).toBe('{"page":"environment","id":"web"}');
  });
});
