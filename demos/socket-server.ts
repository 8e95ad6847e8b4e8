// A TCP server that hands each client's CPU work to a process pool: many clients, a bounded number
// of workers. Clients connect, send numbers one per line, get "n: primes below n (worker pid)" back,
// then leave. The event loop keeps accepting and talking to clients while the workers compute.
//
//   node --import tsx demos/socket-server.ts        (MULTIPROC_DEMO_SHORT=1 for fewer clients)
import { createServer, connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { progress } from './_progress.js';
import { ProcessPoolExecutor } from 'multiproc';

const SHORT = process.env.MULTIPROC_DEMO_SHORT === '1';
const CLIENTS = SHORT ? 4 : 12;
const REQUESTS = 3;
const WORKERS = 2;

/** The CPU work, sent to the workers by source: self-contained, uses only its argument. */
const countPrimes = (below: number): { below: number; primes: number; pid: number } => {
  let primes = 0;
  for (let n = 2; n < below; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) primes++;
  }
  return { below, primes, pid: process.pid };
};


const executor = new ProcessPoolExecutor(WORKERS);
const workerPids = new Set<number>();
let connected = 0;
let mostAtOnce = 0;

const server = createServer((socket: Socket) => {
  connected++;
  mostAtOnce = Math.max(mostAtOnce, connected);
  socket.on('close', () => connected--);
  socket.on('error', () => {});
  // One line in, one line out; each request is a call on the pool, answered when its future is done.
  createInterface({ input: socket }).on('line', (line) => {
    const n = Number(line);
    if (!Number.isInteger(n) || n < 0) {
      socket.write(`error: not a number: ${line}\n`);
      return;
    }
    executor.submit(countPrimes, n).addDoneCallback((future) => {
      future.result().then(
        (r) => {
          workerPids.add(r.pid);
          if (!socket.destroyed) socket.write(`${r.below}: ${r.primes} primes (worker ${r.pid})\n`);
        },
        (err) => socket.write(`error: ${(err as Error).message}\n`),
      );
    });
  });
});

/** A client: sends its numbers one at a time, waits for each answer, then leaves. */
async function client(id: number, port: number, tick: (line: string) => void): Promise<void> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const replies = createInterface({ input: socket })[Symbol.asyncIterator]();
  for (let i = 0; i < REQUESTS; i++) {
    const n = (SHORT ? 20_000 : 60_000) + id * 1_000 + i * 7;
    socket.write(`${n}\n`);
    const reply = await replies.next();
    tick(`  client ${String(id).padStart(2)} asked ${n} -> ${reply.value}`);
  }
  socket.end(); // leave
  await new Promise((resolve) => socket.once('close', resolve));
}

await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as { port: number };
console.log(`echo server on 127.0.0.1:${port}; CPU work goes to ${WORKERS} worker processes`);

const started = performance.now();
const bar = progress(CLIENTS * REQUESTS, 'requests');
await Promise.all(Array.from({ length: CLIENTS }, (_, id) => client(id, port, bar.tick)));
bar.stop();
const ms = performance.now() - started;

console.log(`${CLIENTS} clients (up to ${mostAtOnce} connected at once) sent ${CLIENTS * REQUESTS} requests, ` +
  `all served in ${ms.toFixed(0)} ms by ${workerPids.size} worker processes (${[...workerPids].join(', ')})`);
server.close();
await executor.shutdown();
console.log(`server closed; ${connected} clients still connected; executor shut down`);
