import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import ts from 'typescript';

/**
 * Finds the programs that source files execute, by reading their syntax trees (TypeScript's own
 * parser): what `npm test` must name as a prerequisite. A program is a string literal in a place
 * that names one:
 * - a call's first argument when its second is an argument array: `execa('ip', […])`,
 *   `spawn('setpriv', […])`, `run('nft', […])`, and every wrapper written the same way;
 * - a lookup by name: `findExecutable(host, 'gpgv')`, `program('mkfs.fat')`;
 * - the first element of a command line handed to a helper that runs it (ARGV_HELPERS), e.g.
 *   `inNs(ns, ['busybox', 'udhcpc', …])`;
 * - the command behind a launcher inside any argument array: `'netns', 'exec', NS, 'x'`,
 *   `['setpriv', '--reuid=…', …, 'x']`, `['nsenter', …, '--', 'x']`;
 * - the names in the tool tables hearthd and the scripts look programs up by (TABLES).
 */

/** Helpers whose argument is a whole command line, program first (grep their definitions). */
export const ARGV_HELPERS = new Set(['inNs', 'succeeds', 'ok', 'exec', 'inChroot']);
/** Lookups whose string arguments are program names. */
const LOOKUPS = new Set(['findExecutable', 'program', 'findTools', 'requireTools']);
/** Launchers whose own argv ends with the program they run. */
const LAUNCHERS = new Set(['setpriv', 'nsenter', 'env', 'chroot', 'flock', 'timeout']);

/** Tables of program names: `take` says whether the names are the object's keys or its values. */
export const TABLES = [
  { file: 'helper/src/readiness/facts.ts', name: 'TOOL_BINARIES', take: 'values' },
  { file: 'helper/src/network/tools.ts', name: 'PACKAGES', take: 'keys' },
  { file: 'helper/src/images/local-build/tools.ts', name: 'TOOLS', take: 'keys' },
  { file: 'scripts/test-guest/host-tools.ts', name: 'TOOLS', take: 'keys' },
] as const;

export interface Found {
  program: string;
  /** `file:line`, for the failure message. */
  where: string;
}

/** A plausible program: a bare name or an absolute path (judged by its last component). */
const PROGRAM_NAME = /^[a-z][a-z0-9._+-]*$/;

function literal(node: ts.Node | undefined): string | undefined {
  if (node === undefined) return undefined;
  if (ts.isStringLiteralLike(node)) return node.text;
  return undefined;
}

function asProgram(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const name = text.startsWith('/') ? basename(text) : text;
  return PROGRAM_NAME.test(name) ? name : undefined;
}

function calleeName(call: ts.CallExpression): string | undefined {
  const callee = call.expression;
  if (ts.isIdentifier(callee)) return callee.text;
  if (ts.isPropertyAccessExpression(callee)) return callee.name.text;
  return undefined;
}

/** The program an argument array runs through a launcher in it, if any. */
function launched(elements: readonly ts.Expression[]): ts.Expression | undefined {
  const texts = elements.map((e) => literal(e));
  const exec = texts.findIndex((t, i) => t === 'exec' && texts[i - 1] === 'netns');
  if (exec >= 0) return elements[exec + 2];
  const first = texts[0];
  if (first === undefined || !LAUNCHERS.has(first)) return undefined;
  const dashes = texts.indexOf('--');
  if (dashes >= 0) return elements[dashes + 1];
  // setpriv/env/…: options first, then the program; a spread or variable ends what we can know.
  for (let i = 1; i < elements.length; i += 1) {
    const text = texts[i];
    if (text === undefined) {
      if (ts.isSpreadElement(elements[i]!) || !ts.isTemplateExpression(elements[i]!)) return undefined;
      continue; // `--reuid=${uid}`
    }
    if (!text.startsWith('-') && !/^\d/.test(text)) return elements[i];
  }
  return undefined;
}

export function scanSource(file: string, text: string): Found[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: Found[] = [];
  const add = (node: ts.Node | undefined) => {
    const program = asProgram(literal(node));
    if (program === undefined || node === undefined) return;
    const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
    found.push({ program, where: `${file}:${line}` });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node)) {
      const name = calleeName(node);
      const [first, second] = node.arguments;
      if (second !== undefined && ts.isArrayLiteralExpression(second) && literal(first) !== undefined) add(first);
      if (name !== undefined && LOOKUPS.has(name)) {
        for (const arg of node.arguments) {
          if (ts.isArrayLiteralExpression(arg)) arg.elements.forEach(add);
          else add(arg);
        }
      }
      if (name !== undefined && ARGV_HELPERS.has(name)) {
        for (const arg of node.arguments) if (ts.isArrayLiteralExpression(arg)) add(arg.elements[0]);
      }
    }
    if (ts.isArrayLiteralExpression(node)) add(launched(node.elements));
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The names in one tool table; throws when the table is gone, so a rename cannot hide programs. */
export function scanTable(file: string, name: string, take: 'keys' | 'values'): Found[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  let table: ts.ObjectLiteralExpression | undefined;
  const visit = (node: ts.Node): void => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.name.text === name) {
      let init = node.initializer;
      while (init !== undefined && (ts.isAsExpression(init) || ts.isSatisfiesExpression(init))) init = init.expression;
      if (init !== undefined && ts.isObjectLiteralExpression(init)) table = init;
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  if (table === undefined) throw new Error(`${file}: no object literal ${name}`);
  const found: Found[] = [];
  for (const property of table.properties) {
    if (!ts.isPropertyAssignment(property)) continue;
    const key = ts.isIdentifier(property.name) ? property.name.text : literal(property.name);
    const program = asProgram(take === 'keys' ? key : literal(property.initializer));
    const line = source.getLineAndCharacterOfPosition(property.getStart(source)).line + 1;
    if (program !== undefined) found.push({ program, where: `${file}:${line}` });
  }
  return found;
}
