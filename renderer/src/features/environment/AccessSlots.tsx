import type { Environment } from '#protocol';
import { CopyButton } from '../../ui/CopyButton.js';
import { SshSetupPanel } from '../ssh/SshSetupPanel.js';
import { ProvisioningProgress } from './ProvisioningProgress.js';

/**
 * How to reach an environment: its address and host name on the bridge, the SSH command and the
 * host keys to expect (hearthd generated them before the first boot, so the first connection is
 * already checked), and cloud-init's progress while it sets the guest up. "Open in VS Code" and
 * ports come with later issues and are said plainly, not shown with made-up values.
 */
export function AccessSlots({ env }: { env: Environment }) {
  const later = [
    { title: 'Open in VS Code', what: 'VS Code on your desktop, connected over Remote-SSH' },
    { title: 'Ports', what: 'Ports its services listen on, forwarded to this machine' },
  ];
  return (
    <section className="card" aria-labelledby="access-title" data-testid="access">
      <h2 id="access-title">Access</h2>
      {env.provisioning && <ProvisioningProgress env={env} provisioning={env.provisioning} />}
      {env.network === null ? (
        <p className="banner banner-info" data-testid="access-no-network">
          Its image <code>{env.image}</code> has no provisioning, so it has no network and no SSH. Linux images
          (Settings → Images) have both.
        </p>
      ) : (
        <>
          <dl className="facts" data-testid="access-network">
            <div>
              <dt>Address</dt>
              <dd data-testid="access-address">{env.network.address}</dd>
            </div>
            <div>
              <dt>Host name</dt>
              <dd>
                <code data-testid="access-hostname">{env.network.hostname}</code>
              </dd>
            </div>
            <div>
              <dt>Network</dt>
              <dd data-testid="access-isolation">
                {env.network.isolated
                  ? 'Isolated: the internet only, not your LAN, this computer or other environments'
                  : 'The internet, your LAN, and your other environments'}
              </dd>
            </div>
          </dl>
          <SshAccess env={env} />
        </>
      )}
      <ul className="access-slots">
        {later.map((slot) => (
          <li key={slot.title} className="access-slot">
            <strong>{slot.title}</strong>
            <span className="muted small">{slot.what} (coming later)</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

function SshAccess({ env }: { env: Environment }) {
  const ssh = env.ssh;
  if (ssh === null) {
    return (
      <>
        <p className="banner banner-info" data-testid="access-no-ssh">
          It was created without an SSH key, so it accepts no SSH login. Create a key (below, or in Settings) and create
          the environment again.
        </p>
        <SshSetupPanel compact />
      </>
    );
  }
  const command = `ssh ${env.name}.hearth`;
  return (
    <div className="access-ssh" data-testid="access-ssh">
      <h3>SSH</h3>
      <div className="access-command">
        <code data-testid="ssh-command">{command}</code>
        <CopyButton text={command} label="Copy the SSH command" />
      </div>
      <p className="muted small">
        As <code>{ssh.user}</code> on {ssh.host} port {ssh.port}; your ssh knows its host key as{' '}
        <code>{ssh.hostKeyAlias}</code>.
      </p>
      {ssh.hostKeys.length > 0 && (
        <dl className="facts host-keys" data-testid="host-keys">
          {ssh.hostKeys.map((key) => (
            <div key={key.publicKey}>
              <dt>{key.type}</dt>
              <dd>
                <code>{key.fingerprint}</code>
              </dd>
            </div>
          ))}
        </dl>
      )}
      <SshSetupPanel compact />
    </div>
  );
}
