/**
 * Inside a worker: imports a TypeScript task module, by its compiled form when there is one (no tsx to
 * load), else through tsx. Loaded by load-task.ts only when a `.ts` task comes, so that a worker boots
 * without the file-system, cache and loader code it needs for that.
 */
import { ensureTypeScriptLoader } from './ts-loader.js';
import { compiledTypeScript, isLinkFailure } from './ts-cache.js';

export async function importTypeScript(url: string): Promise<Record<string, any>> {
  if (!(globalThis as any).__multiprocTsx) {
    const compiled = await compiledTypeScript(url);
    if (compiled) {
      // Stacks name the .ts source and its lines (the compiled form carries a source map), as under tsx.
      process.setSourceMapsEnabled(true);
      try {
        return await import(compiled);
      } catch (err) {
        if (!isLinkFailure(err)) throw err;
      }
    }
  }
  await ensureTypeScriptLoader();
  return import(url);
}
