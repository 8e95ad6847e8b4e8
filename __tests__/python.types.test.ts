// Type-level tests of multiproc/python (tsd-style): fixtures/python-types.ts is compiled with the
// TypeScript compiler API and must produce no diagnostics, so an alias whose type drifted from the
// runtime list, an expectType that does not hold, or an @ts-expect-error that compiles all fail here.
import ts from 'typescript';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/python-types.ts', import.meta.url));
const facade = fileURLToPath(new URL('../lib/python.ts', import.meta.url));
const facadeModules = ['names', 'arguments', 'keywords', 'keyword-types', 'primitives', 'pool', 'process', 'futures'].map((m) => fileURLToPath(new URL(`../lib/python/${m}.ts`, import.meta.url)));

function compilerOptions(): ts.CompilerOptions {
  const parsed = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
  if (!parsed) throw new Error('cannot read tsconfig.json');
  return { ...parsed.options, noEmit: true };
}

/** The diagnostics of `files` (only those: work in progress elsewhere in the tree is not this test's business). */
function diagnosticsOf(rootFile: string, files: string[]): string[] {
  const program = ts.createProgram([rootFile], compilerOptions());
  return files.flatMap((file) => {
    const source = program.getSourceFile(file);
    if (!source) return [`${file}: not part of the program`];
    return [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)].map((d) => {
      const { line, character } = source.getLineAndCharacterOfPosition(d.start ?? 0);
      return `${file.slice(root.length)}:${line + 1}:${character + 1} TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
  });
}

describe('multiproc/python types', () => {
  test('the aliases, positional signatures and negative cases type-check as asserted (zero diagnostics)', () => {
    expect(diagnosticsOf(fixture, [fixture, facade, ...facadeModules])).toEqual([]);
  }, 120_000);

  test('the harness catches a wrong assertion and an alias that does not exist', () => {
    const dir = mkdtempSync(join(tmpdir(), 'multiproc-types-'));
    try {
      const file = join(dir, 'wrong.ts');
      writeFileSync(file, [
        `import * as py from ${JSON.stringify(facade.replace(/\.ts$/, '.js'))};`,
        'declare function expectType<T>(): <V>(value: V & ((<G>() => G extends T ? 1 : 2) extends (<G>() => G extends V ? 1 : 2) ? unknown : never)) => void;',
        'const q = new py.Queue<number>();',
        'expectType<string>()(q.get_nowait());',
        'q.no_such_alias();',
      ].join('\n'));
      const found = diagnosticsOf(file, [file]);
      expect(found).toHaveLength(2);
      expect(found[0]).toMatch(/TS2345/);
      expect(found[1]).toMatch(/no_such_alias/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
