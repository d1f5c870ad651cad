// @ts-check
const js = require('@eslint/js');
const tseslint = require('typescript-eslint');

/** Directories that must bundle for browsers: no node: imports, no Node globals. */
const core = ['src/protocol/**', 'src/objects/**', 'src/scheduler/**', 'src/events/**', 'src/errors.ts', 'src/core.ts', 'generated/**'];

module.exports = tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'coverage/**', 'examples/*/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    files: core,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'The core bundles for browsers: only src/transport and src/cli may import node: modules.' },
            { group: ['ssh2', 'fs', 'net', 'tls', 'os', 'path', 'child_process', 'crypto', 'stream', '/events'], message: 'The core bundles for browsers.' },
          ],
        },
      ],
      'no-restricted-globals': ['error', 'Buffer', 'process', '__dirname', 'require'],
    },
  },
  {
    // The package ships as ESM too, and Node's ESM loader needs the file a relative import names.
    files: ['src/**/*.ts', 'generated/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: 'ImportDeclaration[source.value=/^\\.{1,2}\\/(?!.*\\.js$)/], ExportNamedDeclaration[source.value=/^\\.{1,2}\\/(?!.*\\.js$)/], ExportAllDeclaration[source.value=/^\\.{1,2}\\/(?!.*\\.js$)/], ImportExpression[source.value=/^\\.{1,2}\\/(?!.*\\.js$)/]',
          message: 'Relative imports in src/ and generated/ name the .js file (./x.js), as Node\'s ESM loader needs.',
        },
      ],
    },
  },
  {
    files: ['generated/**', 'test/generated-demo/**'],
    rules: {
      // Generated code declares decode targets before nested assignment and may emit empty message maps.
      '@typescript-eslint/no-unused-vars': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-empty-object-type': 'off',
      'prefer-const': 'off',
      'no-useless-escape': 'off',
    },
  },
  {
    files: ['**/*.cjs', '*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', process: 'readonly', __dirname: 'readonly' } },
  },
);
