// A tiny crawler. A local HTTP server serves a few pages; a ThreadPoolExecutor fetches them (I/O),
// a done-callback saves each page to a temp folder; then a process Pool parses the pages (CPU),
// reporting each through applyAsync's callback.
//
//   node --import tsx demos/crawler.ts        (MULTIPROC_DEMO_SHORT=1 for fewer pages)
//
// The task functions are exported from this module and named with task(import.meta.url, ...); the
// workers import this file too, so the main program sits behind `if (isMainThread)`, the twin of
// Python's `if __name__ == '__main__':`.
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { progress } from './_progress.js';
import { Pool, currentProcess, isMainThread, task } from 'multiproc';
import { ThreadPoolExecutor } from 'multiproc';
import { wait } from 'multiproc';

const PAGES = process.env.MULTIPROC_DEMO_SHORT === '1' ? 4 : 16;
const LATENCY_MS = 150; // what a real site would cost per page

export interface Page {
  url: string;
  status: number;
  html: string;
  fetchedBy: string;
}

/** Runs in a worker: says who it is (used to start the workers before timing). */
export function hello(): string {
  return currentProcess().name;
}

/** Runs in a worker thread: one HTTP GET. */
export async function fetchPage(url: string): Promise<Page> {
  const res = await fetch(url);
  return { url, status: res.status, html: await res.text(), fetchedBy: currentProcess().name };
}

/** Runs in a worker process: pulls the title, links and a word count out of a page. */
export function parsePage(page: Page): { url: string; title: string; links: number; words: number; pid: number } {
  const title = /<title>(.*?)<\/title>/.exec(page.html)?.[1] ?? '(untitled)';
  const links = page.html.match(/<a href=/g)?.length ?? 0;
  const text = page.html.replace(/<[^>]+>/g, ' ');
  const words = text.split(/\s+/).filter(Boolean).length;
  return { url: page.url, title, links, words, pid: process.pid };
}

function pageHtml(i: number): string {
  const words = Array.from({ length: 50 + i * 10 }, (_, k) => ['lorem', 'ipsum', 'dolor', 'sit', 'amet'][(i + k) % 5]).join(' ');
  const links = [i + 1, i * 2, i + 3].filter((j) => j < PAGES).map((j) => `<a href="/page/${j}">page ${j}</a>`);
  return `<html><head><title>Page ${i}</title></head><body><p>${words}</p>${links.join(' ')}</body></html>`;
}

function startServer(): Promise<{ server: Server; base: string }> {
  const server = createServer((req, res) => {
    const m = /^\/page\/(\d+)$/.exec(req.url ?? '');
    setTimeout(() => {
      if (!m || Number(m[1]) >= PAGES) {
        res.writeHead(404).end('not found');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html' }).end(pageHtml(Number(m[1])));
    }, LATENCY_MS);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      resolve({ server, base: `http://127.0.0.1:${port}` });
    }),
  );
}


async function main(): Promise<void> {
  const { server, base } = await startServer();
  const folder = mkdtempSync(join(tmpdir(), 'multiproc-crawler-'));
  const urls = Array.from({ length: PAGES }, (_, i) => `${base}/page/${i}`);
  console.log(`serving ${PAGES} pages at ${base} (${LATENCY_MS} ms each); saving to ${folder}`);

  // 1. I/O-bound: fetch with 4 worker threads; a done-callback saves each page as it arrives.
  const pages: Page[] = [];
  const saves: Promise<void>[] = [];
  {
    await using executor = new ThreadPoolExecutor(4, { threadNamePrefix: 'fetcher' });
    // Start the threads (each loads this module) before the clock starts.
    const names = await Promise.all([1, 2, 3, 4].map(() => executor.submit(task<typeof hello>(import.meta.url, 'hello')).result()));
    console.log(`threads ready: ${names.join(', ')}`);
    const started = performance.now();
    const bar = progress(PAGES, 'fetch');
    const futures = urls.map((url) => executor.submit(task<typeof fetchPage>(import.meta.url, 'fetchPage'), url));
    for (const future of futures) {
      future.addDoneCallback((done) => {
        // The callback runs on the main thread with the finished future.
        saves.push(
          done.result().then(
            (page) => {
              const file = join(folder, `${page.url.split('/').pop()}.html`);
              writeFileSync(file, page.html);
              pages.push(page);
              bar.tick(`  saved ${page.url} (HTTP ${page.status}, fetched by ${page.fetchedBy}) -> ${file}`);
            },
            (err) => bar.tick(`  failed: ${(err as Error).message}`),
          ),
        );
      });
    }
    const { done, notDone } = await wait(futures);
    await Promise.all(saves);
    bar.stop();
    console.log(`fetched ${done.size} pages (${notDone.size} not done) in ${(performance.now() - started).toFixed(0)} ms ` +
      `with 4 threads; one after another would take about ${PAGES * LATENCY_MS} ms`);
  } // leaving the block shuts the executor down and waits for it, like Python's `with`
  console.log(`${readdirSync(folder).length} files in ${folder}`);
  server.close();

  // 2. CPU-bound: parse the pages in 2 worker processes; applyAsync's callback reports each one.
  const started = performance.now();
  const pool = new Pool({ processes: 2, runtime: 'process' });
  const pids = new Set<number>();
  let words = 0;
  const results = pages
    .sort((a, b) => a.url.localeCompare(b.url, 'en', { numeric: true }))
    .map((page) =>
      pool.applyAsync(task<typeof parsePage>(import.meta.url, 'parsePage'), [page], {
        callback: (r) => {
          pids.add(r.pid);
          words += r.words;
          console.log(`  parsed "${r.title}": ${r.words} words, ${r.links} links (process ${r.pid})`);
        },
        errorCallback: (err) => console.log(`  parse failed: ${err.message}`),
      }),
    );
  for (const r of results) await r.wait();
  pool.close();
  await pool.join();
  console.log(`parsed ${results.length} pages (${words} words) in ${(performance.now() - started).toFixed(0)} ms, starting included, ` +
    `in ${pids.size} worker processes (${[...pids].join(', ')})`);
  rmSync(folder, { recursive: true, force: true });
}

if (isMainThread) await main();
