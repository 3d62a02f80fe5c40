import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/**
 * Dependency direction, enforced here (see ARCHITECTURE.md):
 *   protocol  ← imports nothing of ours and no Node (except protocol/client, the Node client)
 *   helper    → protocol; inside it, the domain folders never import api/ or daemon/
 *   main      → protocol (incl. client); never helper
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
  {
    // hearthd's domain never knows it is served over HTTP or how the daemon is wired together:
    // it throws DomainErrors, which only api/ maps to statuses.
    files: ['helper/src/{environments,vmm,images,host,settings,events,fs}/**/*.ts'],
    rules: restrict([
      {
        group: ['**/main/**', '**/renderer/**', 'electron', 'react', 'react-dom'],
        message: 'hearthd depends only on protocol/.',
      },
      {
        group: ['**/api/*', '**/daemon/*'],
        message:
          "hearthd's domain folders must not import api/ or daemon/ (throw a DomainError from ../errors.js instead).",
      },
    ]),
  },
  {
    files: ['main/**/*.ts'],
    // Tests may run the real hearthd process through helper/test/support.
    ignores: ['main/test/**'],
    rules: restrict([
      {
        group: ['**/helper/**', '**/renderer/**'],
        message: 'main talks to hearthd over its API (#protocol/client), never by importing it.',
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
