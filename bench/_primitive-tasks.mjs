// Child-process targets for bench/primitives-process.mjs (they receive live primitives as arguments).

/** Says it is up (`ready`, if given), waits for `go`, then puts base..base+n-1 with the given put form. */
export async function produce(q, go, n, form, base = 0, ready = null) {
  ready?.set();
  await go.wait();
  if (form === 'await') for (let i = 0; i < n; i++) await q.put(base + i);
  else if (form === 'sync') for (let i = 0; i < n; i++) q.putSync(base + i);
  else for (let i = 0; i < n; i++) q.putNowait(base + i);
}

/** Gets until null; sends back every item it got, in order, as an Int32Array. */
export async function consume(q, out, ready = null) {
  ready?.set();
  const got = [];
  for (;;) {
    const x = await q.get();
    if (x === null) break;
    got.push(x);
  }
  out.put(Int32Array.from(got));
}

/** Echoes every message back until null (a Pipe end). */
export async function echo(conn) {
  for (;;) {
    const x = await conn.recv();
    conn.send(x);
    if (x === null) break;
  }
  conn.close();
}

/** produce(), then says so on `done` (a later operation: every put is applied before it). */
export async function produceThenSignal(q, go, n, form, base, done, ready) {
  await produce(q, go, n, form, base, ready);
  done.put(1);
}
