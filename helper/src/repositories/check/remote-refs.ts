/** What `git ls-remote --symref` told about a repository. */
export interface RemoteRefs {
  /** The branch HEAD points at (the default branch), when the server says. */
  defaultBranch: string | null;
  headCommit: string | null;
  /** Branch name → commit. */
  branches: Map<string, string>;
  /** Tag name → the commit it points at (peeled when annotated). */
  tags: Map<string, string>;
}

const SHA = /^[0-9a-f]{40}$/;

/** Parses ls-remote's lines (`<sha>\t<ref>`, and `ref: <target>\tHEAD` for the symref); anything else is skipped. */
export function parseLsRemote(stdout: string): RemoteRefs {
  const refs: RemoteRefs = { defaultBranch: null, headCommit: null, branches: new Map(), tags: new Map() };
  const peeled = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const [left = '', name = ''] = line.split('\t');
    if (left.startsWith('ref: ')) {
      const target = left.slice('ref: '.length);
      if (name === 'HEAD' && target.startsWith('refs/heads/')) refs.defaultBranch = target.slice('refs/heads/'.length);
      continue;
    }
    if (!SHA.test(left)) continue;
    if (name === 'HEAD') refs.headCommit = left;
    else if (name.startsWith('refs/heads/')) refs.branches.set(name.slice('refs/heads/'.length), left);
    else if (name.startsWith('refs/tags/') && name.endsWith('^{}')) peeled.set(name.slice(10, -3), left);
    else if (name.startsWith('refs/tags/')) refs.tags.set(name.slice('refs/tags/'.length), left);
  }
  for (const [tag, commit] of peeled) refs.tags.set(tag, commit);
  return refs;
}

/**
 * What `ref` names on the remote: a full commit SHA as it is (the server does not list commits;
 * the clone finds out), a branch, a tag, or a full `refs/heads/…`/`refs/tags/…` name; undefined
 * when none. Without a ref: the default branch.
 */
export function resolveRef(
  refs: RemoteRefs,
  ref: string | undefined,
): { ref: string | null; commit: string | null } | undefined {
  if (ref === undefined) return { ref: refs.defaultBranch, commit: refs.headCommit };
  if (SHA.test(ref)) return { ref, commit: ref };
  const branch = ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : ref;
  const tag = ref.startsWith('refs/tags/') ? ref.slice('refs/tags/'.length) : ref;
  const commit = ref.startsWith('refs/tags/') ? refs.tags.get(tag) : (refs.branches.get(branch) ?? refs.tags.get(tag));
  return commit === undefined ? undefined : { ref, commit };
}
