import { useGitHostKeys } from './queries.js';

const time = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

/**
 * The SSH Git hosts' keys Hearth checks strictly for the caller: preloaded (github.com, gitlab.com,
 * bitbucket.org) or trusted here after a check. Folded away: most people never need to look.
 */
export function HostKeyList({ connected }: { connected: boolean }) {
  const keys = useGitHostKeys(connected);
  if (!keys.data) return null;
  return (
    <details className="host-key-list" data-testid="git-host-keys">
      <summary>Trusted SSH host keys ({keys.data.length})</summary>
      <table className="settings-table">
        <thead>
          <tr>
            <th scope="col">Host</th>
            <th scope="col">Fingerprint</th>
            <th scope="col">Trusted</th>
          </tr>
        </thead>
        <tbody>
          {keys.data.map((k) => (
            <tr key={`${k.host} ${k.publicKey}`} data-host-key={k.host}>
              <th scope="row">{k.host}</th>
              <td>
                <code>{k.fingerprint}</code>
              </td>
              <td className="muted small">
                {k.source === 'preloaded'
                  ? 'Preloaded (published by the host)'
                  : `By you${k.confirmedAt !== null ? `, ${time.format(new Date(k.confirmedAt))}` : ''}`}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}
