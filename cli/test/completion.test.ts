import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Option } from '@commander-js/extra-typings';
import { execa } from 'execa';
import { HEARTH_CLI as CLI } from './support/hearth-cli.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { HearthdClient } from '#protocol/client';
import { HearthdProcess, makePaths, type HearthdPaths } from '../../helper/test/support/hearthd-process.js';
import { addTinyClass, installTestImage, TEST_IMAGE } from '../../helper/test/support/environments.js';
import { NEEDS_ROOT, skipWhen } from '../../helper/test/support/skip.js';
import { completionScript } from '../src/completion/script.js';
import { buildProgram } from '../src/program.js';

/**
 * Runs the completion function the script registered for `hearth` in a real, bare bash, as bash
 * does on <TAB>: COMP_WORDS, COMP_CWORD, COMP_LINE and COMP_POINT for `line` (the cursor at its
 * end; a trailing space starts a new, empty word), then prints COMPREPLY one a line.
 */
const DRIVER = [
  'source "$1" || exit 9',
  'line=$2',
  'read -ra COMP_WORDS <<<"$line"',
  "[[ $line == *' ' ]] && COMP_WORDS+=('')",
  'COMP_CWORD=$((${#COMP_WORDS[@]} - 1))',
  'COMP_LINE=$line',
  'COMP_POINT=${#line}',
  // The function the script registered for hearth, called as bash calls it: command, word, previous word.
  'spec=$(complete -p hearth) || exit 8',
  'function=${spec#*-F }',
  'function=${function%% *}',
  '"$function" hearth "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"',
  '(( ${#COMPREPLY[@]} )) && printf \'%s\\n\' "${COMPREPLY[@]}"',
  'exit 0',
].join('\n');

/** A directory for PATH with an executable `hearth` of the given shell text. */
async function binWith(dir: string, hearth: string): Promise<string> {
  const file = join(dir, 'hearth');
  await writeFile(file, `#!/bin/sh\n${hearth}\n`);
  await chmod(file, 0o755);
  return dir;
}

interface Shells {
  dir: string;
  scripts: Record<'bash' | 'zsh' | 'fish', string>;
  /** A PATH whose `hearth` is the bundled command. */
  realBin: string;
  /** A PATH whose `hearth` only records that it ran (in `calls`) and prints nothing. */
  fakeBin: string;
  calls: string;
}

async function prepareShells(): Promise<Shells> {
  const dir = await mkdtemp(join(tmpdir(), 'hearth-completion-'));
  const scripts = { bash: join(dir, 'hearth.bash'), zsh: join(dir, '_hearth'), fish: join(dir, 'hearth.fish') };
  for (const shell of ['bash', 'zsh', 'fish'] as const) {
    const result = await execa(process.execPath, [CLI, 'completion', shell], { reject: false });
    expect(result.exitCode, result.stderr).toBe(0);
    await writeFile(scripts[shell], result.stdout);
  }
  const realBin = await binWith(await mkdtemp(join(dir, 'real-')), `exec '${process.execPath}' '${CLI}' "$@"`);
  const calls = join(dir, 'calls');
  const fakeBin = await binWith(await mkdtemp(join(dir, 'fake-')), `echo "$*" >> '${calls}'`);
  return { dir, scripts, realBin, fakeBin, calls };
}

/** COMPREPLY for `line`, completed in bash with `bin` first in PATH. */
async function completeInBash(
  shells: Shells,
  line: string,
  bin: string,
  env: Record<string, string> = {},
  script = shells.scripts.bash,
): Promise<string[]> {
  const result = await execa('bash', ['--norc', '--noprofile', '-c', DRIVER, 'bash', script, line], {
    reject: false,
    extendEnv: false,
    env: { PATH: `${bin}${delimiter}${process.env.PATH ?? '/usr/bin:/bin'}`, HOME: shells.dir, ...env },
  });
  expect(result.exitCode, result.stderr).toBe(0);
  expect(result.stderr).toBe('');
  return result.stdout.split('\n').filter(Boolean).sort();
}

/** Lists, in an interactive zsh on a pseudo-terminal, the completions of each line after the script. */
const ZSH_DRIVER = [
  'zmodload zsh/zpty || exit 7',
  "zpty z 'TERM=dumb zsh -f -i'",
  '# Reads until the output (without carriage returns and escapes) holds $1 $2 times, for 20 s at most.',
  'wait_for() {',
  "  local chunk raw=''",
  '  for i in {1..200}; do',
  '    while zpty -r -t z chunk; do raw+=$chunk; done',
  "    buffer=${${raw//$'\\r'/}//$'\\e'\\[[0-9;?]#[a-zA-Z]/}",
  '    (( ($#buffer - ${#buffer//"$1"/}) / $#1 >= $2 )) && return 0',
  '    sleep 0.1',
  '  done',
  '  return 1',
  '}',
  'zpty -w z "unset zle_bracketed_paste; PS1=\'%% \'; autoload -U compinit; compinit -u -D; source ${(q)1}; print READY"',
  'wait_for READY 2 || { print -r -- "no prompt: $buffer"; exit 6 }',
  'shift',
  'integer n=0',
  'for line in "$@"; do',
  '  n+=1',
  '  # ^D lists the completions; keys are handled in order, so the listing is out before the marker.',
  '  zpty -w -n z "$line"$\'\\x04\\x15\'',
  '  zpty -w z "print MARK-$n"',
  '  wait_for "MARK-$n" 2 || { print -r -- "no listing for $line: $buffer"; exit 5 }',
  '  print -r -- "=== $line"',
  '  print -r -- "$buffer"',
  'done',
  'zpty -d z',
].join('\n');
const ZSH_LINES = ['hearth st', 'hearth stop --f', 'hearth logs web --source ', 'hearth ssh-config s'];

/** The words of each listing ZSH_DRIVER printed: `word -- description` rows, or words in columns. */
function zshListings(output: string): Map<string, string[]> {
  const listings = new Map<string, string[]>();
  for (const section of output.split('=== ').slice(1)) {
    const [line = '', , ...rest] = section.split('\n');
    const end = rest.findIndex((r) => r.startsWith('% '));
    const rows = end < 0 ? [] : rest.slice(0, end);
    const words = rows.flatMap((r) => (r.includes(' -- ') ? [r.split(/\s+/)[0] ?? ''] : r.trim().split(/\s+/)));
    listings.set(line, words.filter(Boolean).sort());
  }
  return listings;
}

async function hasProgram(name: string): Promise<boolean> {
  return (await execa('sh', ['-c', `command -v ${name}`], { reject: false })).exitCode === 0;
}

/** The program's visible verbs and aliases: what the first word completes to. */
function verbsStartingWith(prefix: string): string[] {
  const program = buildProgram();
  const verbs = program
    .createHelp()
    .visibleCommands(program)
    .flatMap((c) => [c.name(), ...c.aliases()]);
  return verbs.filter((v) => v.startsWith(prefix)).sort();
}

describe('hearth completion: verbs and flags from the script alone', () => {
  let shells: Shells;
  beforeAll(async () => {
    shells = await prepareShells();
  }, 30_000);
  afterAll(async () => {
    await rm(shells.dir, { recursive: true, force: true });
  });
  // Each test starts with no record of hearth having run, whatever the one before it left.
  beforeEach(() => rm(shells.calls, { force: true }));

  /** Completes with a `hearth` that only records being run, and proves it never ran. */
  const withoutHearth = async (line: string) => {
    const reply = await completeInBash(shells, line, shells.fakeBin);
    await expect(readFile(shells.calls, 'utf8'), `${line}: hearth ran`).rejects.toThrow(/ENOENT/);
    return reply;
  };

  it('completes `hearth st` to the verbs that start with st, without running hearth', async () => {
    const reply = await withoutHearth('hearth st');
    expect(reply).toEqual(verbsStartingWith('st'));
    expect(reply).toContain('start');
    expect(reply).toContain('stop');
    expect(reply).toEqual(['start', 'stats', 'stop']);
  });

  it("completes a verb's flags, aliases and choices, without running hearth", async () => {
    expect(await withoutHearth('hearth stop --f')).toEqual(['--force']);
    expect(await withoutHearth('hearth create web --cl')).toEqual(['--class']);
    // The program's options after the verb, aliases as verbs, commander's choices as values.
    expect(await withoutHearth('hearth ls --so')).toEqual(['--socket']);
    expect(await withoutHearth('hearth list --js')).toEqual(['--json']);
    expect(await withoutHearth('hearth logs web --source ')).toEqual(['console', 'events']);
    expect(await withoutHearth('hearth ssh-config s')).toEqual(['setup', 'sync']);
    expect(await withoutHearth('hearth completion ')).toEqual(['bash', 'fish', 'zsh']);
    // A flag's value is not taken for an argument: after `--ref main` comes a flag again.
    expect(await withoutHearth('hearth create web --ref main --is')).toEqual(['--isolated']);
    // Hidden verbs are not offered.
    expect(await withoutHearth('hearth __')).toEqual([]);
  });

  it('asks hearth for names where an argument takes them (the recording hearth proves the call)', async () => {
    expect(await completeInBash(shells, 'hearth --socket /run/elsewhere.sock stop ', shells.fakeBin)).toEqual([]);
    expect((await readFile(shells.calls, 'utf8')).trim()).toBe('--socket /run/elsewhere.sock __complete environments');
    await rm(shells.calls);
  });

  it('offers no names and no message when hearthd is not there', async () => {
    const socket = join(shells.dir, 'nobody-listens.sock');
    expect(await completeInBash(shells, `hearth start --socket ${socket} `, shells.realBin)).toEqual([]);
    const direct = await execa(process.execPath, [CLI, '__complete', 'environments', '--socket', socket], {
      reject: false,
    });
    expect([direct.exitCode, direct.stdout, direct.stderr]).toEqual([0, '', '']);
  });

  it('completes a verb added to the program later, with no change to completion code', async () => {
    const program = buildProgram();
    program
      .command('snapshot')
      .argument('<env>', 'environment name')
      .option('--watch', 'keep updating')
      .addOption(new Option('--unit <unit>', 'units').choices(['si', 'iec']));
    program.command('secret', { hidden: true });
    const bundles = program.command('bundles').description('bundles');
    bundles.command('ls');
    bundles.command('rm').argument('<image...>', 'image names');
    const script = join(shells.dir, 'with-more.bash');
    await writeFile(script, completionScript('bash', program, 'test'));
    const complete = (line: string) => completeInBash(shells, line, shells.fakeBin, {}, script);
    expect(await complete('hearth sn')).toEqual(['snapshot']);
    expect(await complete('hearth s')).not.toContain('secret');
    expect(await complete('hearth snapshot --w')).toEqual(['--watch']);
    expect(await complete('hearth snapshot --unit ')).toEqual(['iec', 'si']);
    await expect(readFile(shells.calls, 'utf8'), 'hearth ran').rejects.toThrow(/ENOENT/);
    expect(await complete('hearth bundles ')).toEqual(['help', 'ls', 'rm']);
    expect(await complete('hearth bundles rm --j')).toEqual([]);
    await expect(readFile(shells.calls, 'utf8'), 'hearth ran').rejects.toThrow(/ENOENT/);
    // Its <env> asks for environment names, as every <env> does; a nested verb's <image...> for images.
    expect(await complete('hearth snapshot ')).toEqual([]);
    expect(await complete('hearth bundles rm a ')).toEqual([]);
    expect((await readFile(shells.calls, 'utf8')).split('\n')).toEqual([
      '__complete environments',
      '__complete images',
      '',
    ]);
    await rm(shells.calls);
  });

  it('zsh accepts its script (zsh -n) and completes from it at a real prompt', async (context) => {
    if (!(await hasProgram('zsh'))) context.skip('zsh is not installed: its script is not checked here');
    const result = await execa('zsh', ['-n', shells.scripts.zsh], { reject: false });
    expect([result.exitCode, result.stderr]).toEqual([0, '']);
    // A real interactive zsh on a pseudo-terminal (zsh's own zpty), compinit and the script loaded:
    // ^D lists what <TAB> would offer for each line; the words are read back from the listing.
    const run = await execa('zsh', ['-f', '-c', ZSH_DRIVER, 'zsh', shells.scripts.zsh, ...ZSH_LINES], {
      reject: false,
      timeout: 90_000,
      env: { PATH: `${shells.fakeBin}${delimiter}${process.env.PATH ?? ''}` },
    });
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    const listed = zshListings(run.stdout);
    const offered = (line: string) => listed.get(line);
    expect(offered('hearth st')).toEqual(verbsStartingWith('st'));
    expect(offered('hearth stop --f')).toEqual(['--force']);
    expect(offered('hearth logs web --source ')).toEqual(['console', 'events']);
    expect(offered('hearth ssh-config s')).toEqual(['setup', 'sync']);
    await expect(readFile(shells.calls, 'utf8'), 'hearth ran').rejects.toThrow(/ENOENT/);
  }, 120_000);

  it('fish accepts its script (fish --no-execute) and completes from it (complete -C)', async (context) => {
    if (!(await hasProgram('fish'))) context.skip('fish is not installed: its script is not checked here');
    const parsed = await execa('fish', ['--no-execute', shells.scripts.fish], { reject: false });
    expect([parsed.exitCode, parsed.stderr]).toEqual([0, '']);
    const complete = async (line: string) => {
      const result = await execa(
        'fish',
        ['--no-config', '-c', `source ${shells.scripts.fish}; complete -C ${JSON.stringify(line)}`],
        { reject: false, env: { PATH: `${shells.fakeBin}${delimiter}${process.env.PATH ?? ''}` } },
      );
      expect(result.exitCode, result.stderr).toBe(0);
      return result.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('\t')[0])
        .sort();
    };
    expect(await complete('hearth st')).toEqual(verbsStartingWith('st'));
    expect(await complete('hearth stop --f')).toEqual(['--force']);
    expect(await complete('hearth logs web --source ')).toEqual(['console', 'events']);
    await expect(readFile(shells.calls, 'utf8'), 'hearth ran').rejects.toThrow(/ENOENT/);
  });
});

/**
 * Names from a real hearthd (run as its unit runs it): environments created without booting,
 * the test image installed as an administrator does, and a class added.
 */
describe('hearth completion: names from a real hearthd', skipWhen(NEEDS_ROOT), () => {
  let paths: HearthdPaths;
  let daemon: HearthdProcess;
  let client: HearthdClient;
  let shells: Shells;
  const cleanup: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    shells = await prepareShells();
    cleanup.push(() => rm(shells.dir, { recursive: true, force: true }));
    paths = await makePaths('hearth-completion-');
    cleanup.push(() => rm(paths.dir, { recursive: true, force: true }));
    await installTestImage(paths);
    daemon = await HearthdProcess.start(paths);
    cleanup.push(() => daemon.dispose());
    client = daemon.client();
    cleanup.push(() => client.close());
    await addTinyClass(client);
    for (const name of ['web', 'api', 'worker'])
      await client.call('createEnvironment', { body: { name, class: 'tiny', image: TEST_IMAGE, start: false } });
  }, 180_000);
  afterAll(async () => {
    for (const undo of cleanup.reverse()) await undo().catch((e: unknown) => console.warn(`cleanup: ${String(e)}`));
  });

  const names = async (call: Promise<string[]>) => (await call).sort();

  it('completes `hearth start <TAB>` to the environments hearthd has (--socket on the line)', async () => {
    expect(await completeInBash(shells, `hearth --socket ${paths.socket} start `, shells.realBin)).toEqual([
      'api',
      'web',
      'worker',
    ]);
    expect(await completeInBash(shells, `hearth stop web --socket ${paths.socket} w`, shells.realBin)).toEqual([
      'web',
      'worker',
    ]);
  });

  it('honours HEARTH_SOCKET and --socket=PATH', async () => {
    const env = { HEARTH_SOCKET: paths.socket };
    expect(await completeInBash(shells, 'hearth logs a', shells.realBin, env)).toEqual(['api']);
    expect(await completeInBash(shells, `hearth rm --socket=${paths.socket} --yes a`, shells.realBin)).toEqual(['api']);
    // The words bash makes of --socket=PATH when = breaks words (COMP_WORDBREAKS, the default).
    expect(await completeInBash(shells, `hearth rm --socket = ${paths.socket} --yes a`, shells.realBin)).toEqual([
      'api',
    ]);
  });

  it('completes --class and --image with the classes and images hearthd lists', async () => {
    const classes = await names(client.call('listClasses').then((l) => l.classes.map((c) => c.name)));
    expect(classes).toContain('tiny');
    expect(
      await completeInBash(shells, `hearth create x --class `, shells.realBin, { HEARTH_SOCKET: paths.socket }),
    ).toEqual(classes);
    expect(
      await completeInBash(shells, `hearth create x --image `, shells.realBin, { HEARTH_SOCKET: paths.socket }),
    ).toEqual([TEST_IMAGE]);
  });

  it('__complete prints one name a line, quickly, for every kind', async () => {
    const expected = {
      environments: ['api', 'web', 'worker'],
      classes: await names(client.call('listClasses').then((l) => l.classes.map((c) => c.name))),
      images: [TEST_IMAGE],
      catalog: await names(client.call('getCatalog').then((c) => c.entries.map((e) => e.name))),
    };
    for (const [kind, want] of Object.entries(expected)) {
      const started = performance.now();
      const result = await execa(process.execPath, [CLI, '__complete', kind, '--socket', paths.socket]);
      const ms = performance.now() - started;
      console.info(`hearth __complete ${kind}: ${ms.toFixed(0)} ms`);
      expect(result.stderr).toBe('');
      expect(result.stdout.split('\n').filter(Boolean).sort()).toEqual(want);
      // Well under the 2 s after which it gives up: a <TAB> must not feel like a wait.
      expect(ms).toBeLessThan(1_500);
    }
  });
});
