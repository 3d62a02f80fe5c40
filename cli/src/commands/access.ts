import { parseRepositoryUrl, type AccessCheck, type AddCredential, type Credential } from '#protocol';
import type { CliContext } from '../context.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { NONE } from '../terminal/format.js';
import { renderTable } from '../terminal/table.js';
import { readSecret } from './secret-input.js';

function lastCheckCell(credential: Credential): string {
  const check = credential.lastCheck;
  if (check === null) return NONE;
  return `${check.code} ${check.at.slice(0, 16).replace('T', ' ')}`;
}

/** `hearth access ls`: the caller's own credentials, never a secret (hearthd never returns one). */
export async function listAccess(context: CliContext): Promise<ExitCode> {
  const { terminal } = context;
  const list = await context.client.call('listCredentials');
  if (terminal.json) terminal.data(list);
  else if (list.credentials.length === 0)
    terminal.say('No repository access yet. Add some: hearth access add <host> --token-stdin (or --ssh-key)');
  else
    terminal.out(
      renderTable(
        terminal,
        ['ID', 'HOST', 'KIND', 'USERNAME', 'FINGERPRINT', 'LAST CHECK'],
        list.credentials.map((c) => [
          c.id,
          c.host,
          c.kind,
          c.username ?? NONE,
          c.fingerprint ?? NONE,
          lastCheckCell(c),
        ]),
      ),
    );
  return ExitCode.ok;
}

export interface AddAccessOptions {
  tokenStdin?: boolean;
  sshKey?: boolean;
  username?: string;
  caCert?: string;
}

/**
 * `hearth access add <host>`: a personal access token (from stdin or a hidden prompt, never an
 * argument), or with --ssh-key a key pair hearthd generates, whose public half is printed with
 * where to add it. Either replaces the caller's credential of that kind for that host.
 */
export async function addAccess(context: CliContext, host: string, options: AddAccessOptions): Promise<ExitCode> {
  const { terminal } = context;
  if (options.sshKey === true && (options.tokenStdin === true || options.username !== undefined || options.caCert))
    throw new CliError('--ssh-key takes no token, --username or --ca-cert', ExitCode.usage);
  let body: AddCredential;
  if (options.sshKey === true) body = { host, kind: 'ssh-key' };
  else {
    const token = await readSecret(
      `Personal access token for ${host} (not shown): `,
      options.tokenStdin === true,
      context.signal,
    );
    if (token === '') throw new CliError('no token given', ExitCode.usage);
    const caCertificate = options.caCert === undefined ? undefined : await readCaFile(options.caCert);
    body = {
      host,
      kind: 'token',
      token,
      ...(options.username !== undefined && { username: options.username }),
      ...(caCertificate !== undefined && { caCertificate }),
    };
  }
  const credential = await context.client.call('addCredential', { body });
  if (terminal.json) terminal.data(credential);
  else if (credential.kind === 'ssh-key' && credential.publicKey !== null) {
    // The key alone on stdout, so `hearth access add h --ssh-key | xclip` copies just it.
    terminal.out(credential.publicKey);
    terminal.say(`Add this public key to ${host} (your account's SSH keys, or the repository's deploy keys),`);
    terminal.say(`then check: hearth access check git@${host}:<owner>/<repo>.git`);
  } else
    terminal.say(
      `${host}: token saved (${credential.id}). Check it: hearth access check https://${host}/<owner>/<repo>`,
    );
  return ExitCode.ok;
}

/** A CA file the user names is theirs to read: the command runs as them, not as hearthd. */
async function readCaFile(path: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${path}: ${(error as Error).message}`, ExitCode.usage);
  }
}

/**
 * `hearth access rm <id|host>`: by id, or by host when the caller has one credential for it
 * (with both a token and a key there, the id says which).
 */
export async function removeAccess(context: CliContext, which: string): Promise<ExitCode> {
  const { terminal, client } = context;
  let id = which;
  if (!/^cred-[0-9a-f]{12}$/.test(which)) {
    const matches = (await client.call('listCredentials')).credentials.filter((c) => c.host === which);
    if (matches.length === 0) throw new CliError(`you have no credential for ${which} (hearth access ls)`);
    if (matches.length > 1)
      throw new CliError(
        `you have ${matches.length} credentials for ${which}: say which, ${matches.map((c) => `${c.id} (${c.kind})`).join(' or ')}`,
        ExitCode.usage,
      );
    id = matches[0]?.id ?? which;
  }
  const list = await client.call('deleteCredential', { params: { id } });
  if (terminal.json) terminal.data(list);
  else terminal.say(`${which}: removed; environments stop receiving it now`);
  return ExitCode.ok;
}

function describeCheck(context: CliContext, check: AccessCheck): void {
  const { terminal } = context;
  if (check.ok) {
    terminal.out(`ok        ${terminal.guest(check.message)}`);
    terminal.out(`default   ${check.defaultBranch ?? NONE}`);
    terminal.out(`ref       ${check.ref ?? NONE}`);
    terminal.out(`commit    ${check.commit ?? NONE}`);
    terminal.out(`branches  ${check.branches.join(' ') || NONE}`);
    return;
  }
  // The message may quote the Git server's own words: cleaned like a guest's text on a terminal.
  terminal.say(`hearth: ${check.code}: ${terminal.guest(check.message, 'stderr')}`);
  if (check.hostKey !== null) {
    terminal.say(`  the host offered ${check.hostKey.fingerprint}`);
    if (check.code === 'host-key-unknown')
      terminal.say('  compare it with the fingerprint your Git host publishes, then: hearth access trust <url>');
  }
  if (check.code === 'no-credential') terminal.say('  add one: hearth access add <host> --token-stdin (or --ssh-key)');
}

/** `hearth access check <url>`: whether the caller's credential reaches the repository, and what it has. */
export async function checkAccess(
  context: CliContext,
  repository: string,
  options: { ref?: string },
): Promise<ExitCode> {
  const { terminal } = context;
  const check = await context.client.call('checkAccess', {
    body: { repository, ...(options.ref !== undefined && { ref: options.ref }) },
  });
  if (terminal.json) terminal.data(check);
  else describeCheck(context, check);
  return check.ok ? ExitCode.ok : ExitCode.failed;
}

/**
 * `hearth access trust <url>`: checks the repository, shows the fingerprint of the key its SSH
 * host offered, and trusts it once the person confirms — on a terminal by answering, in a script
 * by naming the fingerprint they expect with --fingerprint (compared, never taken on faith).
 */
export async function trustHost(
  context: CliContext,
  repository: string,
  options: { fingerprint?: string },
): Promise<ExitCode> {
  const { terminal, client } = context;
  const check = await client.call('checkAccess', { body: { repository } });
  const offered = check.hostKey;
  if (offered === null || (check.code !== 'host-key-unknown' && check.code !== 'host-key-changed')) {
    if (terminal.json) terminal.data(await client.call('listGitHostKeys'));
    else terminal.say(`Nothing to trust: the check says ${check.code}: ${terminal.guest(check.message, 'stderr')}`);
    return check.code === 'ok' ? ExitCode.ok : ExitCode.failed;
  }
  const parsed = parseRepositoryUrl(repository);
  // The check above passed hearthd's own parse of the same URL; this cannot refuse it.
  if (!parsed.ok) throw new CliError(parsed.reason, ExitCode.usage);
  const host = parsed.location.credentialHost;
  terminal.say(`${host} offers the key ${offered.fingerprint}`);
  if (check.code === 'host-key-changed')
    terminal.say(terminal.colors.red('  This is NOT the key trusted before: someone may be between you and the host.'));
  if (options.fingerprint !== undefined) {
    if (options.fingerprint !== offered.fingerprint)
      throw new CliError(`the host offered ${offered.fingerprint}, not ${options.fingerprint}: nothing trusted`);
  } else if (!(await confirm(context, `Trust ${offered.fingerprint} for ${host}? [y/N] `))) {
    terminal.say('Nothing trusted.');
    return ExitCode.failed;
  }
  const keys = await client.call('confirmGitHostKey', { body: { host, publicKey: offered.publicKey } });
  if (terminal.json) terminal.data(keys);
  else terminal.say(`${host}: trusted; strict checking applies from now on`);
  return ExitCode.ok;
}

async function confirm(context: CliContext, question: string): Promise<boolean> {
  if (!process.stdin.isTTY || !context.terminal.stderrTty)
    throw new CliError('no terminal to confirm on: name the fingerprint you expect with --fingerprint', ExitCode.usage);
  const { createInterface } = await import('node:readline/promises');
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await prompt.question(question, { signal: context.signal })).trim());
  } finally {
    prompt.close();
  }
}
