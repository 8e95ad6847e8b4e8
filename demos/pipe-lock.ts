// Two consumers sharing one end of a Pipe: why they need a Lock (as in Python).
// Each record travels as TWO messages (its key, then its value). A consumer reads a record with
// two recv() calls. Without a lock, the other consumer can take a message between those two calls,
// so records come out torn: a key paired with another record's value.
import { Pipe } from '../primitives/connection.js';
import { Lock } from '../primitives/synchronize.js';
import { Queue } from '../primitives/queues.js';
import { Pool } from '../lib/pool.js';

const N = process.env.MULTIPROC_DEMO_SHORT === '1' ? 2_000 : 20_000;

/** Reads two-message records until EOF; returns [records, torn]. Runs in a worker thread. */
function consume(conn: any, lock: any, ready: any, go: any): [number, number] {
  ready.putSync('ready'); // start together, so that the two really race
  go.getSync();
  let records = 0;
  let torn = 0;
  for (;;) {
    if (lock) lock.acquireSync();
    try {
      let key;
      let value;
      try {
        key = conn.recvSync();
      } catch (e: any) {
        if (e.name === 'EOFError') return [records, torn];
        throw e;
      }
      try {
        value = conn.recvSync();
      } catch (e: any) {
        if (e.name === 'EOFError') return [records, torn + 1];
        throw e;
      }
      records++;
      if (key.kind !== 'key' || value.kind !== 'value' || key.id !== value.id) torn++;
    } finally {
      if (lock) lock.release();
    }
  }
}

async function run(pool: Pool, withLock: boolean): Promise<void> {
  const [reader, writer] = Pipe(false);
  for (let id = 0; id < N; id++) {
    writer.send({ kind: 'key', id });
    writer.send({ kind: 'value', id, payload: `record ${id}` });
  }
  writer.close(); // the consumers stop at EOF
  const lock = withLock ? new Lock() : null;
  const ready = new Queue();
  const go = new Queue();
  const consumers = [0, 1].map(() => pool.apply(consume, [reader, lock, ready, go]));
  await ready.get();
  await ready.get();
  go.putNowait('go');
  go.putNowait('go');
  const results = await Promise.all(consumers);
  reader.close();
  const records = results[0][0] + results[1][0];
  const torn = results[0][1] + results[1][1];
  console.log(
    `${withLock ? 'WITH a Lock   ' : 'WITHOUT a lock'}: consumers read ${results[0][0]} + ${results[1][0]} = ${records} records, ` +
      `${torn} torn (key of one record paired with the value of another)`,
  );
}

const pool = new Pool(2);
console.log(`${N} records, each sent as two messages (key, value), read by two consumer threads sharing one Pipe end.\n`);
await run(pool, false);
console.log(
  '  -> Without a lock, the two recv() calls of one consumer are not atomic: the other consumer\n' +
    '     takes messages in between, so pairs get mixed up (how many varies from run to run).\n',
);
await run(pool, true);
console.log('  -> Holding a Lock around the two recv() calls makes reading a record atomic: nothing is torn.');
await pool.terminate();
