import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/**
 * Dependency direction, enforced here (see ARCHITECTURE.md):
 *   protocol  ← imports nothing of ours and no Node (except protocol/client, the Node client)
 *   helper    → protocol; inside helper/src, layers (HELPER_LAYERS below), bottom to top
 *   user      → protocol (incl. client): the user's side shared by the app and the command line
 *   main      → protocol (incl. client), user; never helper or cli
 *   cli       → protocol (incl. client), user; never helper, main or renderer
 *   renderer  → protocol types only; never Node, Electron, main, helper or the Node client
 */
const nodeBuiltins = [
  'node:*',
  'fs',
  'fs/*',
  'path',
  'os',
  'child_process',
  'net',
  'http',
  'https',
  'stream',
  'crypto',
  'url',
  'util',
  'events',
];
const restrict = (patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });

/** Everything environments/ stands on; the layers above it add themselves. */
const BELOW_ENVIRONMENTS = [
  'system',
  'settings',
  'events',
  'network',
  'vmm',
  'guest',
  'images',
  'readiness',
  'repositories',
];
/**
 * hearthd's layers, bottom to top: each folder of helper/src may import its own files and the
 * folders listed for it, nothing else of helper/src. The files directly in helper/src are the
 * foundation (errors, log, validation, the caller's identity, flag parsing, the version) that
 * every folder may use and that import no folder; main.ts and cli.ts, the program's entry, sit
 * above daemon/. Within the third tier, guest/ rides on vmm/ (the guest channel is a VMM device)
 * and images/ on guest/ (a local build bakes the agent in); network/ and vmm/ know neither.
 * repositories/ (credentials, host keys, access checks, the guest's credential answers) rides on
 * guest/ (its answers travel the guest channel) and sits below environments/, which use it.
 */
export const HELPER_LAYERS = {
  system: [],
  settings: ['system'],
  events: ['system'],
  network: ['system', 'settings', 'events'],
  vmm: ['system', 'settings', 'events'],
  guest: ['system', 'settings', 'events', 'vmm'],
  images: ['system', 'settings', 'events', 'vmm', 'guest'],
  readiness: ['system', 'settings', 'events', 'network', 'vmm', 'guest', 'images'],
  repositories: ['system', 'settings', 'events', 'vmm', 'guest'],
  environments: BELOW_ENVIRONMENTS,
  api: [...BELOW_ENVIRONMENTS, 'environments'],
  daemon: [...BELOW_ENVIRONMENTS, 'environments', 'api'],
};
const helperFolders = Object.keys(HELPER_LAYERS);
const hearthdOnlyProtocol = {
  group: ['**/main/**', '**/renderer/**', 'electron', 'react', 'react-dom'],
  message: 'hearthd depends only on protocol/.',
};
/** A relative import that names one of `folders` as a directory on its way. */
const importsFolder = (folders) => `^\\.{1,2}/(.*/)?(${folders.join('|')})/`;
const layerRules = Object.entries(HELPER_LAYERS).map(([folder, below]) => {
  const forbidden = helperFolders.filter((other) => other !== folder && !below.includes(other));
  return {
    files: [`helper/src/${folder}/**/*.ts`],
    rules: restrict([
      hearthdOnlyProtocol,
      {
        regex: importsFolder(forbidden),
        message: `helper/src/${folder}/ may import only ${below.length ? below.map((f) => `${f}/`).join(', ') : 'no other folder'} (and the files in helper/src): see HELPER_LAYERS in eslint.config.js.`,
      },
    ]),
  };
});

export default defineConfig(
  { ignores: ['dist/**', 'node_modules/**', '.cache/**', 'test-results/**'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', 'scripts/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
      globals: { ...globals.node },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-console': 'error',
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
    },
  },
  {
    files: ['protocol/**/*.ts'],
    ignores: ['protocol/client/**', 'protocol/test/**'],
    rules: restrict([
      { group: nodeBuiltins, message: 'protocol/ is the shared contract and must run in the renderer: no Node.' },
      {
        group: ['**/helper/**', '**/main/**', '**/renderer/**', 'electron'],
        message: 'protocol/ depends on nothing of ours.',
      },
    ]),
  },
  {
    files: ['helper/**/*.ts'],
    rules: restrict([
      {
        group: ['**/main/**', '**/renderer/**', 'electron', 'react', 'react-dom'],
        message: 'hearthd depends only on protocol/.',
      },
    ]),
  },
  // hearthd's domain never knows it is served over HTTP or how the daemon is wired together
  // (it throws DomainErrors, which only api/ maps to statuses): the layers below say so.
  ...layerRules,
  {
    files: ['helper/src/*.ts'],
    ignores: ['helper/src/main.ts', 'helper/src/cli.ts'],
    rules: restrict([
      hearthdOnlyProtocol,
      {
        regex: importsFolder(helperFolders),
        message: 'The files in helper/src are the foundation every folder uses: they import no folder.',
      },
    ]),
  },
  {
    files: ['main/**/*.ts'],
    // Tests may run the real hearthd process through helper/test/support.
    ignores: ['main/test/**'],
    rules: restrict([
      {
        group: ['**/helper/**', '**/renderer/**', '**/cli/**'],
        message: 'main talks to hearthd over its API (#protocol/client), never by importing it.',
      },
    ]),
  },
  {
    files: ['cli/**/*.ts'],
    ignores: ['cli/test/**'],
    rules: restrict([
      {
        group: ['**/helper/**', '**/renderer/**', '**/main/**', 'electron', 'react', 'react-dom'],
        message: 'hearth talks to hearthd over its API (#protocol/client) and shares only user/ with the app.',
      },
    ]),
  },
  {
    files: ['user/**/*.ts'],
    ignores: ['user/test/**'],
    rules: restrict([
      {
        group: ['**/helper/**', '**/renderer/**', '**/main/**', '**/cli/**', 'electron', 'react', 'react-dom'],
        message: 'user/ is shared by the app and the command line: it depends on protocol/ only.',
      },
    ]),
  },
  {
    files: ['renderer/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      ...restrict([
        {
          group: [...nodeBuiltins, 'electron'],
          message: 'The renderer is sandboxed web content: use window.hearth, never Node or Electron.',
        },
        {
          // A leading # would be a comment in gitignore-style groups, hence the regex.
          regex: '^(#protocol/client|.*/(helper|main|protocol/client)/)',
          message: 'The renderer may import only the shared contract (#protocol).',
        },
      ]),
    },
  },
  { files: ['**/*.js', '**/*.mjs'], extends: [tseslint.configs.disableTypeChecked] },
  {
    files: ['**/test/**', 'e2e/**', 'bench/**', 'scripts/**', '*.config.*'],
    // Asymmetric matchers (expect.stringContaining …) are typed any by design.
    rules: {
      'no-console': 'off',
      '@typescript-eslint/no-floating-promises': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
    },
  },
);
