// @ts-check
import tseslint from 'typescript-eslint';

/** Time is a parameter: production code reads the system clock only in src/core/clock.ts. */
const SYSTEM_CLOCK = [
  { selector: "MemberExpression[object.name='Date'][property.name='now']", message: 'Read the time from the Clock handed down (src/core/clock.ts), not Date.now().' },
  { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'Read the time from the Clock handed down (src/core/clock.ts), not new Date().' },
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test-artifacts/**', '.okr-demo/**'] },
  {
    files: ['src/**/*.ts', 'exporters/**/*.ts'],
    ignores: ['**/*.test.ts', '**/testing/**', 'src/core/clock.ts'],
    languageOptions: { parser: tseslint.parser },
    rules: { 'no-restricted-syntax': ['error', ...SYSTEM_CLOCK] },
  },
);
