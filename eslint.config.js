// @ts-check
import { dirname, relative, resolve } from 'node:path';
import tseslint from 'typescript-eslint';

const root = import.meta.dirname;

/** Time is a parameter: production code reads the system clock only in src/core/clock.ts. */
const SYSTEM_CLOCK = [
  {
    selector: "MemberExpression[object.name='Date'][property.name='now']",
    message: 'Read the time from the Clock handed down (src/core/clock.ts), not Date.now().',
  },
  {
    selector: "NewExpression[callee.name='Date'][arguments.length=0]",
    message: 'Read the time from the Clock handed down (src/core/clock.ts), not new Date().',
  },
];

/**
 * Dependencies point one way (docs/architecture.md): src/core imports nothing of the app; a
 * source's folder imports only src/core and itself; exporters/index.ts lists the plugins;
 * nothing imports the CLI. Checked on the resolved path of every relative import.
 */
const dependencyDirection = {
  meta: { type: 'problem', schema: [], docs: { description: 'one-way dependencies between src/core, exporters and the app' } },
  create(context) {
    const file = relative(root, context.filename);
    const check = (node, spec) => {
      if (typeof spec !== 'string' || !spec.startsWith('.')) return;
      const target = relative(root, resolve(dirname(context.filename), spec)).replace(/\.js$/, '.ts');
      const problem = violation(file, target);
      if (problem) context.report({ node, message: `${file} must not import ${target}: ${problem}` });
    };
    return {
      ImportDeclaration: (node) => check(node, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value),
      ExportAllDeclaration: (node) => check(node, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value),
    };
  },
};

/** Why `file` may not import `target` (both relative to the repository root), or undefined. */
function violation(file, target) {
  if (target.startsWith('src/cli/') && !file.startsWith('src/cli/')) return 'the CLI is an entry point; nothing imports it';
  if (file.startsWith('src/core/') && !target.startsWith('src/core/')) return 'src/core imports nothing of the application';
  const source = /^exporters\/([^/]+)\//.exec(file)?.[1];
  if (source) {
    if (target.startsWith('src/') && !target.startsWith('src/core/')) return 'a source imports only src/core';
    const other = /^exporters\/([^/]+)\//.exec(target)?.[1];
    if (target.startsWith('exporters/') && other !== source) return 'a source does not import another source or the list of sources';
  }
  if (file === 'exporters/index.ts' && target.startsWith('src/') && !target.startsWith('src/core/'))
    return 'the list of sources imports only plugins and src/core';
  return undefined;
}

const TESTS = ['**/*.test.ts', '**/testing/**', 'tests/**'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test-artifacts/**', '.okr-demo/**', '**/*.mjs', '**/*.js', 'bench/**/tsconfig.json', 'bench/out/**'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: root } },
    plugins: { okr: { rules: { 'dependency-direction': dependencyDirection } } },
    rules: {
      // Interface methods are async whether or not one implementation awaits.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
  {
    files: ['src/**/*.ts', 'exporters/**/*.ts'],
    ignores: TESTS,
    rules: { 'okr/dependency-direction': 'error' },
  },
  {
    files: ['src/**/*.ts', 'exporters/**/*.ts'],
    ignores: [...TESTS, 'src/core/clock.ts'],
    rules: { 'no-restricted-syntax': ['error', ...SYSTEM_CLOCK] },
  },
  {
    // Tests read untyped JSON and third-party objects freely, and hand methods to expect().
    files: TESTS,
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
);
