import type { SshSetup } from '#protocol';
import { Button } from '../../ui/Button.js';
import { useCreateSshKey, useSetSshInclude, useSshSetup } from './queries.js';
import './ssh.css';

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * The two things the user decides about SSH: a key pair of their own (made here, as them; root
 * never sees it) and whether ~/.ssh/config includes Hearth's file, so `ssh <name>.hearth` works
 * from any terminal. Shown in Settings, and in an environment's Access section while not done.
 */
export function SshSetupPanel(props: { compact?: boolean }) {
  const setup = useSshSetup();
  const create = useCreateSshKey();
  const include = useSetSshInclude();
  const error = setup.error ?? create.error ?? include.error;
  const data = setup.data;
  if (props.compact === true && data?.publicKey != null && data.include === 'present' && !error) return null;
  return (
    <div className="ssh-setup" data-testid="ssh-setup">
      {error && (
        <div className="banner banner-fail" role="alert" data-testid="ssh-error">
          {message(error)}
        </div>
      )}
      {data && <KeyPart setup={data} creating={create.isPending} onCreate={() => create.mutate()} />}
      {data && (
        <IncludePart
          setup={data}
          busy={include.isPending}
          onChange={(enabled) => include.mutate(enabled)}
          compact={props.compact === true}
        />
      )}
    </div>
  );
}

function KeyPart(props: { setup: SshSetup; creating: boolean; onCreate: () => void }) {
  const { publicKey, keyPath } = props.setup;
  if (publicKey === null) {
    return (
      <div className="ssh-part" data-testid="ssh-key" data-state="absent">
        <p>
          <strong>No SSH key yet.</strong> Hearth makes one for you (ed25519, in <code>{keyPath}</code>, readable only
          by you); environments created afterwards accept it.
        </p>
        <Button onClick={props.onCreate} disabled={props.creating}>
          {props.creating ? 'Creating…' : 'Create SSH key'}
        </Button>
      </div>
    );
  }
  return (
    <div className="ssh-part" data-testid="ssh-key" data-state="present">
      <p>
        <strong>Your key:</strong> <code>{keyPath}</code>, sent to new environments as their <code>dev</code>{' '}
        user&apos;s authorized key.
      </p>
      <p className="ssh-public-key small">
        <code>{publicKey}</code>
      </p>
    </div>
  );
}

function IncludePart(props: {
  setup: SshSetup;
  busy: boolean;
  onChange: (enabled: boolean) => void;
  compact: boolean;
}) {
  const { include, includeLine, userConfigPath, configPath } = props.setup;
  if (include === 'present') {
    if (props.compact) return null;
    return (
      <div className="ssh-part" data-testid="ssh-include" data-state="present">
        <p>
          <code>{userConfigPath}</code> starts with <code>{includeLine}</code>, so <code>ssh &lt;name&gt;.hearth</code>{' '}
          works in any terminal.
        </p>
        <Button onClick={() => props.onChange(false)} disabled={props.busy}>
          Remove the Include line
        </Button>
      </div>
    );
  }
  return (
    <div className="ssh-part" data-testid="ssh-include" data-state={include}>
      <p>
        Hearth keeps <code>Host &lt;name&gt;.hearth</code> entries in its own file, <code>{configPath}</code>. For{' '}
        <code>ssh &lt;name&gt;.hearth</code> to use them, Hearth can add one line at the top of{' '}
        <code>{userConfigPath}</code>: <code>{includeLine}</code>. Nothing else in that file is changed.
      </p>
      {include === 'inert' && (
        <p className="banner banner-warn small" role="note">
          That line is already there, but after a Host or Match block, where ssh applies it to that block alone. Adding
          it puts another copy at the top; yours stays as it is.
        </p>
      )}
      <Button variant="primary" onClick={() => props.onChange(true)} disabled={props.busy}>
        {props.busy ? 'Adding…' : 'Add the Include line'}
      </Button>
    </div>
  );
}
