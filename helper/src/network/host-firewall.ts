import type { NetworkTools } from './tools.js';

/** A forward-hook chain of another table that drops what hearthd's own rules accept. */
export interface ForwardDrop {
  family: string;
  table: string;
  chain: string;
  /** `policy`: the chain's policy is drop; `rule`: it ends in an unconditional drop or reject (firewalld). */
  by: 'policy' | 'rule';
  /** Docker's table: it has a DOCKER-USER chain, the place Docker keeps for rules of one's own. */
  docker: boolean;
  ufw: boolean;
}

interface NftChain {
  family: string;
  table: string;
  name: string;
  hook?: string;
  policy?: string;
}
interface NftRule {
  family: string;
  table: string;
  chain: string;
  expr?: Record<string, unknown>[];
}

const VERDICTS = new Set(['drop', 'reject']);

/**
 * From `nft -j list ruleset`: every forward-hook chain outside hearthd's tables that drops
 * unmatched packets. Base chains of one hook all see a packet, and an accept in hearthd's
 * chain does not stop another's drop, so each of these would drop guests' traffic.
 */
export function forwardDropsOf(ruleset: unknown): ForwardDrop[] {
  const items = ((ruleset as { nftables?: unknown[] } | null)?.nftables ?? []) as Record<string, unknown>[];
  const chains = items.flatMap((i) => (i.chain ? [i.chain as NftChain] : []));
  const rules = items.flatMap((i) => (i.rule ? [i.rule as NftRule] : []));
  const key = (family: string, table: string) => `${family} ${table}`;
  const chainNames = new Map<string, string[]>();
  for (const c of chains)
    chainNames.set(key(c.family, c.table), [...(chainNames.get(key(c.family, c.table)) ?? []), c.name]);
  return chains
    .filter((c) => c.hook === 'forward' && c.table !== 'hearth')
    .flatMap((c): ForwardDrop[] => {
      const own = rules.filter((r) => r.family === c.family && r.table === c.table && r.chain === c.name);
      const last = own.at(-1)?.expr ?? [];
      const endsInDrop =
        last.length > 0 &&
        last.every((e) => 'counter' in e || VERDICTS.has(Object.keys(e)[0] ?? '')) &&
        last.some((e) => VERDICTS.has(Object.keys(e)[0] ?? ''));
      const by = c.policy === 'drop' ? 'policy' : endsInDrop ? 'rule' : undefined;
      if (!by) return [];
      const names = chainNames.get(key(c.family, c.table)) ?? [];
      return [
        {
          family: c.family,
          table: c.table,
          chain: c.name,
          by,
          docker: names.includes('DOCKER-USER'),
          ufw: names.some((n) => n.startsWith('ufw-')),
        },
      ];
    });
}

export async function readForwardDrops(tools: NetworkTools): Promise<ForwardDrop[]> {
  return forwardDropsOf(JSON.parse(await tools.run('nft', ['-j', 'list', 'ruleset'])));
}

/** The exact commands that let hearth0's traffic through `drop`, in that firewall's own terms. */
export function remedyCommand(drop: ForwardDrop, bridge: string): string {
  if (drop.docker)
    return [
      `sudo iptables -I DOCKER-USER -i ${bridge} -j ACCEPT`,
      `sudo iptables -I DOCKER-USER -o ${bridge} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
    ].join(' && ');
  // ufw lets replies through itself; only what starts on the bridge needs a rule.
  if (drop.ufw) return `sudo ufw route allow in on ${bridge}`;
  if (drop.table === 'firewalld')
    return `sudo firewall-cmd --permanent --zone=trusted --add-interface=${bridge} && sudo firewall-cmd --reload`;
  const at = `${drop.family} ${drop.table} ${drop.chain}`;
  return [
    `sudo nft insert rule ${at} iifname "${bridge}" accept`,
    `sudo nft insert rule ${at} oifname "${bridge}" ct state established,related accept`,
  ].join(' && ');
}
