import { removalText, renderRuleset, type RulesetInput } from './ruleset.js';
import type { NetworkTools } from './tools.js';

/** Replaces hearthd's two tables in one transaction: the old rules hold until the new ones do. */
export async function applyRuleset(tools: NetworkTools, input: RulesetInput): Promise<void> {
  await tools.run('nft', ['-f', '-'], renderRuleset(input));
}

/** Removes hearthd's tables, and only those; a missing table is not an error. */
export async function removeRuleset(tools: NetworkTools): Promise<void> {
  await tools.run('nft', ['-f', '-'], removalText());
}
