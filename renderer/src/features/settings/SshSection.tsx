import { SshSetupPanel } from '../ssh/SshSetupPanel.js';

/** Your SSH key and the Include line: the app's, not hearthd's, so members manage their own. */
export function SshSection() {
  return (
    <section className="card" aria-labelledby="ssh-title" data-testid="ssh">
      <h2 id="ssh-title">SSH</h2>
      <p className="muted small">
        How <code>ssh &lt;name&gt;.hearth</code> reaches your environments: with a key of your own, and host keys Hearth
        already knows, so ssh checks them strictly from the first connection.
      </p>
      <SshSetupPanel />
    </section>
  );
}
