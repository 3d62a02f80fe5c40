import type { Profile } from '#protocol';
import type { CliContext } from '../context.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { NONE } from '../terminal/format.js';

function show(context: CliContext, profile: Profile): void {
  const { terminal } = context;
  if (terminal.json) {
    terminal.data(profile);
    return;
  }
  terminal.out(`name   ${profile.gitName ?? NONE}`);
  terminal.out(`email  ${profile.gitEmail ?? NONE}`);
  if (profile.gitName === null || profile.gitEmail === null)
    terminal.say('Commits in new environments use these: hearth profile set --name "…" --email …');
}

/** `hearth profile`: the git identity commits in the caller's new environments are made with. */
export async function showProfile(context: CliContext): Promise<ExitCode> {
  show(context, await context.client.call('getProfile'));
  return ExitCode.ok;
}

export interface ProfileOptions {
  name?: string;
  email?: string;
}

/** `hearth profile set`: changes what is given, keeps the rest; an empty value clears it. */
export async function setProfile(context: CliContext, options: ProfileOptions): Promise<ExitCode> {
  if (options.name === undefined && options.email === undefined)
    throw new CliError('say what to set: --name and/or --email', ExitCode.usage);
  const current = await context.client.call('getProfile');
  const value = (given: string | undefined, kept: string | null) =>
    given === undefined ? kept : given.trim() === '' ? null : given.trim();
  const body: Profile = {
    gitName: value(options.name, current.gitName),
    gitEmail: value(options.email, current.gitEmail),
  };
  const saved = await context.client.call('putProfile', { body });
  show(context, saved);
  if (!context.terminal.json) context.terminal.say('Saved; environments created from now on use it.');
  return ExitCode.ok;
}
