/**
 * The I/O thread of a remote-core link (see link.ts): owns this thread's connections to brokers,
 * so that the calling thread can sleep in Atomics.wait while a blocking call's round trip runs
 * here. It relays ops in order and posts replies back, then bumps the signal word and notifies.
 */
import { workerData, type MessagePort } from 'node:worker_threads';
import { errorToWire } from '../../lib/codec/error-wire.js';
import { ConnectionClosedError } from '../../lib/errors.js';
import { connect, type Client } from './client.js';
import { OP_CALL, OP_CONNECT, OP_FIRE, type LinkOp, type LinkReply } from './link-protocol.js';

const { requests, replies, signal, owner } = workerData as {
  requests: MessagePort;
  replies: MessagePort;
  signal: Int32Array;
  owner: string;
};

interface Broker {
  client: Client | null;
  failure: unknown | null;
  /** Ops that arrived while connecting, replayed in order. */
  queue: LinkOp[];
}
const brokers: Broker[] = [];

let out: LinkReply[] = [];
let scheduled = false;

function post(reply: LinkReply): void {
  out.push(reply);
  if (!scheduled) {
    scheduled = true;
    process.nextTick(flush);
  }
}

function flush(): void {
  scheduled = false;
  const batch = out;
  out = [];
  replies.postMessage(batch);
  // The calling thread may be asleep in a blocking call: wake it (it drains the port itself).
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
}

function wire(err: unknown): unknown {
  // Relay clients keep server errors as WireError records; local failures are real Errors.
  return err instanceof Error ? errorToWire(err) : err;
}

function run(b: Broker, op: LinkOp): void {
  if (b.failure !== null) {
    if (op[0] === OP_CALL) post([op[2], false, wire(b.failure)]);
    return;
  }
  if (b.client === null) {
    b.queue.push(op);
    return;
  }
  const client = b.client;
  if (op[0] === OP_CALL) {
    const id = op[2];
    client.call(op[3], op[4], op[5]).then((v) => post([id, true, v]), (e) => post([id, false, wire(e)]));
  } else if (op[0] === OP_FIRE) {
    try {
      client.notify(op[3], op[4], op[5]);
    } catch (e) {
      post([0, false, wire(e), op[3], op[1]]);
    }
  }
}

requests.on('message', (ops: LinkOp[]) => {
  for (const op of ops) {
    if (op[0] === OP_CONNECT) {
      const [, index, id, address, authkey] = op;
      const b: Broker = { client: null, failure: null, queue: [] };
      brokers[index] = b;
      connect(address, authkey, { owner, rawErrors: true }).then(
        (client) => {
          b.client = client;
          client.onError((objectId, err) => post([0, false, err, objectId, index]));
          client.onClose((err) => {
            b.failure = err;
          });
          post([id, true, null]);
          for (const queued of b.queue.splice(0)) run(b, queued);
        },
        (err) => {
          b.failure = err instanceof Error ? err : new ConnectionClosedError(String(err));
          post([id, false, wire(err)]);
          for (const queued of b.queue.splice(0)) run(b, queued);
        },
      );
    } else {
      run(brokers[op[1]], op);
    }
  }
});

// The calling thread is gone: close our connections so the brokers release what it held.
requests.on('close', () => {
  for (const b of brokers) b?.client?.close();
  process.exit(0);
});
