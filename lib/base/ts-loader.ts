/**
 * TypeScript task modules and running from our own sources: tsx, reached through its public exports only.
 * Node 20's worker threads ignore `--import` loaders, so a thread that must load `.ts` starts from a small
 * bootstrap module (`tsThreadEntry`) that registers tsx first; child processes get `--import <tsx>`.
 */
import type * as Fs from 'node:fs';
import type * as NodeModule from 'node:module';
import type * as Path from 'node:path';
import type * as Url from 'node:url';
import { builtin } from './builtin.js';

const fs = () => builtin<typeof Fs>('node:fs');
const nodeModule = () => builtin<typeof NodeModule>('node:module');
const nodePath = () => builtin<typeof Path>('node:path');
const url = () => builtin<typeof Url>('node:url');

let registered: Promise<void> | null = null;

/**
 * file: URL of one of tsx's public exports (`.`, `./esm/api`), as an ESM import would resolve it: read from
 * the `exports` map of tsx's package.json (itself a public export). `require.resolve` would pick the
 * `require` condition, and `import.meta.resolve` is missing where our sources run under Jest's VM modules.
 */
function tsxExport(subpath: '.' | './esm/api' | './cjs/api'): string {
  const pkgFile = nodeModule().createRequire(import.meta.url).resolve('tsx/package.json');
  const target = pickImport(JSON.parse(fs().readFileSync(pkgFile, 'utf8')).exports?.[subpath]);
  if (!target) throw new Error(`tsx (${pkgFile}) has no public export '${subpath}' for import`);
  return url().pathToFileURL(nodePath().join(nodePath().dirname(pkgFile), target)).href;
}

function pickImport(entry: unknown): string | undefined {
  if (typeof entry === 'string') return entry;
  if (!entry || typeof entry !== 'object') return undefined;
  const e = entry as Record<string, unknown>;
  return pickImport(e.import) ?? pickImport(e.default);
}

/** file: URL of tsx's ESM `register()` API (`tsx/esm/api`). */
export function tsxApiUrl(): string {
  return tsxExport('./esm/api');
}

/**
 * file: URL of tsx's CommonJS `register()` API (`tsx/cjs/api`). Node treats a `.ts` file outside a
 * `"type": "module"` package as CommonJS and loads it with `require`, which the ESM hook alone does not
 * reach: without this hook every `.ts` task module of a CommonJS project failed to load
 * (ERR_REQUIRE_CYCLE_MODULE on Node 20). `tsx` itself registers both.
 */
export function tsxCjsApiUrl(): string {
  return tsxExport('./cjs/api');
}

/** file: URL of tsx's loader (`tsx`), for `--import` in child processes. */
export function tsxLoaderUrl(): string {
  return tsxExport('.');
}

/**
 * The entry of a worker thread that must load TypeScript: a data: URL module that registers tsx, then
 * imports `entryUrl` and re-exports its default (tinypool calls a task module's default export). A dynamic
 * import: a static one would be linked before tsx is registered.
 */
export function tsThreadEntry(entryUrl: string): URL {
  const src = `const api = await import(${JSON.stringify(tsxApiUrl())}); api.register();
(await import(${JSON.stringify(tsxCjsApiUrl())})).register(); globalThis.__multiprocTsx = true;
export default (await import(${JSON.stringify(entryUrl)})).default;`;
  return new URL(`data:text/javascript,${encodeURIComponent(src)}`);
}

export function ensureTypeScriptLoader(): Promise<void> {
  if ((globalThis as any).__multiprocTsx) return Promise.resolve();
  registered ??= import(tsxApiUrl()).then(async (api) => {
    api.register();
    // The CommonJS hook is for .ts modules of CommonJS projects. One import after the other: a test runner's
    // VM modules fail two imports linking the same built-in at once. Where it cannot load, ES module .ts
    // files still load through the ESM hook.
    try {
      (await import(tsxCjsApiUrl())).register();
    } catch {
      // as said
    }
    (globalThis as any).__multiprocTsx = true;
  });
  return registered;
}
