/**
 * A TypeScript task module compiled once per content, not once per worker. Loading tsx in a fresh worker
 * (its loader thread, esbuild) costs ~350 ms; a worker that finds the module already compiled imports the
 * plain JavaScript instead and never loads tsx.
 *
 * The compiled module is stored on disk (so later workers, recycled ones and later runs of the program
 * find it) under a name made from the source's path and content: an edited
 * file gets a new entry. `import.meta.url` (and dirname/filename) keep naming the source file, relative
 * imports are made absolute. Modules this cannot serve faithfully go through tsx as before: CommonJS ones,
 * decorators (they depend on tsconfig), imports of other TypeScript files, computed dynamic imports.
 * MULTIPROC_TS_CACHE=0 turns the cache off; MULTIPROC_TS_CACHE=<dir> puts it elsewhere.
 */
import type * as Crypto from 'node:crypto';
import type * as Fs from 'node:fs';
import type * as NodeModule from 'node:module';
import type * as Os from 'node:os';
import type * as Path from 'node:path';
import type * as Url from 'node:url';
import { builtin } from './builtin.js';

const fs = () => builtin<typeof Fs>('node:fs');
const nodeModule = () => builtin<typeof NodeModule>('node:module');
const os = () => builtin<typeof Os>('node:os');
const nodePath = () => builtin<typeof Path>('node:path');
const url = () => builtin<typeof Url>('node:url');

/** Bump when the compiled form changes, so old entries are not used (not keyed by esbuild's version: finding
 * that out costs a worker milliseconds, and its output for the same options means the same program). */
const FORMAT = 1;

function cacheDir(): string | null {
  const env = process.env.MULTIPROC_TS_CACHE?.trim();
  if (env && /^(0|false|no|off)$/i.test(env)) return null;
  if (env) return env;
  const uid = typeof process.getuid === 'function' ? process.getuid() : 'user';
  return nodePath().join(os().tmpdir(), `multiproc-ts-${uid}`);
}

/** Whether tsx would run this file as an ES module (what the cached form is). */
function isEsm(path: string): boolean {
  const ext = nodePath().extname(path);
  if (ext === '.mts') return true;
  if (ext === '.cts') return false;
  for (let dir = nodePath().dirname(path); ; dir = nodePath().dirname(dir)) {
    const pkg = nodePath().join(dir, 'package.json');
    if (fs().existsSync(pkg)) {
      try {
        return JSON.parse(fs().readFileSync(pkg, 'utf8')).type === 'module';
      } catch {
        return false;
      }
    }
    if (nodePath().dirname(dir) === dir) return false;
  }
}

/** JSON with comments and trailing commas (what tsconfig.json files hold) made plain JSON. */
function plainJson(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1; // a string, escapes and all
      out += text.slice(i, j + 1);
      i = j;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 1;
    } else out += c;
  }
  return out.replace(/,(\s*[}\]])/g, '$1');
}

/**
 * The compiler options tsx would use: those of the tsconfig.json found from the working directory up
 * (class-field semantics, import elision and decorators depend on them). undefined when there is none;
 * null when tsx must do it (a tsconfig that extends another, one we cannot read, a chosen path).
 */
function tsconfigRaw(): string | null | undefined {
  if (process.env.TSX_TSCONFIG_PATH) return null;
  for (let dir = process.cwd(); ; dir = nodePath().dirname(dir)) {
    const file = nodePath().join(dir, 'tsconfig.json');
    if (fs().existsSync(file)) {
      try {
        const config = JSON.parse(plainJson(fs().readFileSync(file, 'utf8')));
        if (config.extends !== undefined) return null;
        return JSON.stringify({ compilerOptions: config.compilerOptions ?? {} });
      } catch {
        return null;
      }
    }
    if (nodePath().dirname(dir) === dir) return undefined;
  }
}

const RELATIVE_IMPORT = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(["'])(\.{1,2}\/[^"']*)\2/g;
const ANY_DYNAMIC_IMPORT = /\bimport\s*\(/g;
const LITERAL_DYNAMIC_IMPORT = /\bimport\s*\(\s*["'][^"']*["']\s*\)/g;

/**
 * Relative imports made absolute (the compiled file lives elsewhere); null when one of them needs tsx
 * (another TypeScript file, a specifier without extension) or a dynamic import is computed.
 */
function absoluteImports(code: string, sourceUrl: string): string | null {
  const dynamic = code.match(ANY_DYNAMIC_IMPORT)?.length ?? 0;
  const literal = code.match(LITERAL_DYNAMIC_IMPORT)?.length ?? 0;
  if (dynamic !== literal) return null;
  let servable = true;
  const out = code.replace(RELATIVE_IMPORT, (whole, lead: string, quote: string, spec: string) => {
    const target = new URL(spec, sourceUrl);
    const path = url().fileURLToPath(target);
    if (!/\.(m?js|cjs|json)$/.test(path) || !fs().existsSync(path)) servable = false;
    return `${lead}${quote}${target.href}${quote}`;
  });
  return servable ? out : null;
}

async function compile(path: string, source: string, sourceUrl: string, tsconfig: string | undefined): Promise<string | null> {
  if (/^\s*@[A-Za-z_$]/m.test(source)) return null; // decorators: tsx knows their flavours better
  const fromTsx = nodeModule().createRequire(nodeModule().createRequire(import.meta.url).resolve('tsx/package.json'));
  const esbuild = await import(url().pathToFileURL(fromTsx.resolve('esbuild')).href);
  const result = await esbuild.transform(source, {
    loader: 'ts',
    format: 'esm',
    target: `node${process.versions.node.split('.')[0]}`,
    sourcefile: path,
    sourcemap: 'inline',
    ...(tsconfig === undefined ? {} : { tsconfigRaw: tsconfig }),
    define: {
      'import.meta.url': JSON.stringify(sourceUrl),
      'import.meta.filename': JSON.stringify(path),
      'import.meta.dirname': JSON.stringify(nodePath().dirname(path)),
    },
  });
  return absoluteImports(String(result.code), sourceUrl);
}

/** The cache directory, made ours alone: in a shared tmp dir, another user's directory must not serve us code. */
function ownDir(dir: string): boolean {
  fs().mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = fs().statSync(dir);
  const uid = typeof process.getuid === 'function' ? process.getuid() : st.uid;
  return st.isDirectory() && st.uid === uid && (st.mode & 0o022) === 0;
}

const resolved = new Map<string, Promise<string | null>>();

async function findOrCompile(sourceUrl: string): Promise<string | null> {
  const dir = cacheDir();
  if (!dir || !sourceUrl.startsWith('file:')) return null;
  const path = url().fileURLToPath(sourceUrl);
  // .tsx: JSX settings are tsx's business.
  if (nodePath().extname(path) === '.tsx' || !isEsm(path) || !ownDir(dir)) return null;
  const tsconfig = tsconfigRaw();
  if (tsconfig === null) return null;
  const source = fs().readFileSync(path, 'utf8');
  const { createHash } = builtin<typeof Crypto>('node:crypto');
  const hash = createHash('sha256').update(`${FORMAT}\0${path}\0${tsconfig ?? ''}\0${source}`).digest('hex').slice(0, 32);
  const file = nodePath().join(dir, `${hash}.mjs`);
  if (fs().existsSync(file)) return url().pathToFileURL(file).href;
  const code = await compile(path, source, sourceUrl, tsconfig);
  if (code === null) return null;
  // Written whole, then renamed: another worker never imports a half-written file.
  const partial = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  fs().writeFileSync(partial, code, { mode: 0o600 });
  fs().renameSync(partial, file);
  return url().pathToFileURL(file).href;
}

/**
 * The URL of `sourceUrl` compiled to JavaScript (compiling it now when nobody has yet), or null when it
 * must go through tsx. Never throws: any trouble with the cache means "use tsx".
 */
export function compiledTypeScript(sourceUrl: string): Promise<string | null> {
  let found = resolved.get(sourceUrl);
  if (!found) {
    found = findOrCompile(sourceUrl).catch(() => null);
    resolved.set(sourceUrl, found);
  }
  return found;
}

/** Whether an import of the compiled module failed at link time (so tsx should have the source instead). */
export function isLinkFailure(err: unknown): boolean {
  const code = (err as { code?: string })?.code;
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'ERR_UNSUPPORTED_DIR_IMPORT' || code === 'ERR_UNKNOWN_FILE_EXTENSION') return true;
  return err instanceof SyntaxError && /does not provide an export named|Cannot use import statement|Unexpected token/.test(err.message);
}
