// The linter: typescript-eslint's recommended rules (syntax-only, so it stays fast), over the library,
// its tests, demos and benchmarks. Layer rules live in .dependency-cruiser.cjs.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'docs/api/**', 'node_modules/**', 'bench/report/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...nodeGlobals() } },
    rules: {
      // Values crossing to workers and wire frames are untyped by nature; `any` there is deliberate.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // `interface X extends Aliases<X> {}` is how the Python names merge into our classes' types.
      '@typescript-eslint/no-empty-object-type': ['error', { allowInterfaces: 'with-single-extends' }],
      // It mistakes a `#field ??= ...` (read, then maybe written) for a field that is never read.
      'no-unused-private-class-members': 'off',
    },
  },
  {
    // Our own `Array(typecode, ...)` (Python's multiprocessing.Array) is not the global constructor.
    files: ['primitives/sharedctypes.ts', 'lib/python/**', 'lib/python.ts', '__tests__/**', 'demos/**'],
    rules: { '@typescript-eslint/no-array-constructor': 'off' },
  },
  {
    // One way to reach a Node built-in: builtin() (lib/base/builtin.ts) at first use. A value import loads the
    // module with the importing one and builds its whole namespace, at every `import 'multiproc'` and worker boot.
    files: ['lib/**/*.ts', 'primitives/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [{ group: ['node:*'], allowTypeImports: true, message: "Reach a built-in through builtin() from lib/base/builtin.ts at first use (keep `import type`)." }],
      }],
    },
  },
  {
    // A benchmark keeps a result it never reads, so the work it times is not optimised away.
    files: ['bench/**'],
    rules: { '@typescript-eslint/no-unused-vars': ['error', { varsIgnorePattern: '^(_|s$|sink)', argsIgnorePattern: '^_', caughtErrors: 'none' }] },
  },
);

function nodeGlobals() {
  const names = ['process', 'console', 'Buffer', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval',
    'setImmediate', 'clearImmediate', 'queueMicrotask', 'structuredClone', 'performance', 'URL', 'TextEncoder',
    'TextDecoder', 'AbortController', 'AbortSignal', 'SharedArrayBuffer', 'Atomics', 'globalThis', 'MessageChannel',
    'fetch', 'global', '__dirname', '__filename', 'require', 'module', 'exports', 'DOMException', 'BroadcastChannel', 'EventTarget', 'Event'];
  return Object.fromEntries(names.map((n) => [n, 'readonly']));
}
