/** Registers the tsx loader once, so a worker thread can import `.ts` task modules (Node 20 ignores --import there). */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

let registered: Promise<void> | null = null;

export function isTypeScriptUrl(url: string): boolean {
  return /\.(c|m)?tsx?$/.test(url.split(/[?#]/)[0]);
}

/** file: URL of tsx's ESM `register()` API, resolved from this package. */
export function tsxApiUrl(): string {
  const pkg = createRequire(import.meta.url).resolve('tsx/package.json');
  return pathToFileURL(join(dirname(pkg), 'dist/esm/api/index.mjs')).href;
}

/** file: URL of tsx's loader, for `--import` in child processes. */
export function tsxLoaderUrl(): string {
  const pkg = createRequire(import.meta.url).resolve('tsx/package.json');
  return pathToFileURL(join(dirname(pkg), 'dist/loader.mjs')).href;
}

export function ensureTypeScriptLoader(): Promise<void> {
  if ((globalThis as any).__multiprocTsx) return Promise.resolve();
  registered ??= import(tsxApiUrl()).then((api) => {
    api.register();
    (globalThis as any).__multiprocTsx = true;
  });
  return registered;
}
