import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tools/**', 'coverage/**', 'test-output/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
    },
  },
  {
    // Type-aware rules: a promise nobody awaits is a failure nobody hears about.
    files: ['src/**/*.ts', 'workflows/**/*.ts', 'activities/**/*.ts', 'dev/**/*.ts', 'test/**/*.ts'],
    languageOptions: { parserOptions: { project: ['./tsconfig.test.json'], tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, no I/O.
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'Workflows must not use Node built-ins; do I/O in activities.' })),
          patterns: [
            {
              // From workflows/ and from one folder down (workflows/runbook/).
              group: ['../', '../../'].flatMap((up) => [`${up}src/*`, `!${up}src/contracts`, `${up}src/*/**`, `!${up}src/contracts/**`, `${up}activities/*`]),
              allowTypeImports: true,
              message: 'Workflows may import values from src/contracts only; activity and other src imports must be types.',
            },
          ],
        },
      ],
    },
  },
  {
    // The layer arrows point one way: nothing outside workflows/ imports a value from it.
    files: ['src/**/*.ts', 'activities/**/*.ts', 'dev/**/*.ts', 'test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/workflows/*', '**/workflows'],
              allowTypeImports: true,
              message: 'Import shared values from src/contracts, not from workflows/ (workflow code is loaded by the worker only).',
            },
          ],
        },
      ],
    },
  },
  {
    // The contract layer is pure: zod and Temporal's definition helpers only.
    files: ['src/contracts/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'Contracts are pure: no Node built-ins.' })),
          patterns: [{ group: ['../*', '!./*'], message: 'Contracts import only zod, @temporalio definitions and each other.' }],
        },
      ],
    },
  },
);
