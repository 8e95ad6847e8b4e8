/**
 * Packed runs of frames (primitives/kernel/frames.ts) and the ring operations on them: a process
 * worker's stream of puts lands with one copy, a consumer fetching ahead takes a run, and what it
 * gives back goes in front — across the wrap point of the ring and while it grows.
 */
import { checkPacked, FramePacker, FrameReader } from '../primitives/kernel/frames.js';
import { COUNT, INITIAL_CAPACITY, LENT, LOCK_R, LOCK_W, MessageRing } from '../primitives/channel/ring.js';
import { decodeMessage, encodeMessage, KIND_BYTES } from '../lib/base/codec/message.js';

function pack(values: unknown[]) {
  const p = new FramePacker(16);
  for (const v of values) p.add(encodeMessage(v));
  return p.packed();
}

function unpack(run: { bytes: Uint8Array; count: number }): unknown[] {
  const r = new FrameReader(run);
  const out: unknown[] = [];
  while (r.left > 0) out.push(decodeMessage(r.next()));
  return out;
}

function pushRun(ring: MessageRing, values: unknown[]): void {
  ring.lock(LOCK_W);
  try {
    ring.pushPackedLocked(pack(values));
  } finally {
    ring.unlock(LOCK_W);
  }
}

function takeRun(ring: MessageRing, max: number, maxBytes = Infinity) {
  ring.lock(LOCK_R);
  try {
    return ring.takePackedLocked(max, maxBytes, LENT);
  } finally {
    ring.unlock(LOCK_R);
  }
}

function takeAll(ring: MessageRing): unknown[] {
  const out: unknown[] = [];
  while (ring.count > 0) {
    ring.lock(LOCK_R);
    try {
      out.push(decodeMessage(ring.takeLocked()));
    } finally {
      ring.unlock(LOCK_R);
    }
  }
  return out;
}

test('a packed run round-trips every kind of message; sendBytes payloads get an ArrayBuffer of their own', () => {
  const values = [1.5, -0, 'text', { a: [1, 2] }, 2n ** 70n, [undefined], null, 2 ** 60];
  expect(unpack(pack(values))).toEqual(values);
  const p = new FramePacker(8);
  p.add([KIND_BYTES, new Uint8Array([1, 2, 3])]);
  const frame = new FrameReader(p.packed()).next() as [number, Uint8Array];
  expect([...frame[1]]).toEqual([1, 2, 3]);
  expect(frame[1].buffer.byteLength).toBe(3);
});

test('checkPacked refuses what would corrupt a ring', () => {
  const run = pack([1, 'two', 3]);
  expect(checkPacked(run.bytes, 3)).toBe(true);
  expect(checkPacked(run.bytes, 2)).toBe(false); // bytes left over
  expect(checkPacked(run.bytes, 4)).toBe(false); // runs past the end
  expect(checkPacked(run.bytes.subarray(0, run.bytes.length - 8), 3)).toBe(false);
  expect(checkPacked('x', 1)).toBe(false);
  const bad = new Uint8Array(run.bytes);
  new Uint32Array(bad.buffer)[1] = 99; // unknown kind
  expect(checkPacked(bad, 3)).toBe(false);
});

test('runs go in, come out in order (limited by count and bytes), and go back in front, across the wrap point and growth', () => {
  const ring = new MessageRing();
  // move the ring's head near its end, so the next frames wrap
  const filler = 'x'.repeat(INITIAL_CAPACITY / 2);
  pushRun(ring, [filler]);
  takeRun(ring, 1);
  pushRun(ring, [filler.slice(0, INITIAL_CAPACITY / 4)]);
  takeRun(ring, 1);
  const values = Array.from({ length: 3000 }, (_, i) => (i % 3 === 0 ? `s${i}` : i)); // wraps, then grows the ring
  pushRun(ring, values.slice(0, 10));
  pushRun(ring, values.slice(10));
  expect(ring.count).toBe(3000);
  const lentBefore = ring.load(LENT);
  const first = takeRun(ring, 100);
  expect(unpack(first)).toEqual(values.slice(0, 100));
  const small = takeRun(ring, 100, 1); // the byte limit still lets one frame through
  expect(unpack(small)).toEqual([values[100]]);
  expect(ring.load(LENT) - lentBefore).toBe(101);
  const queued = ring.load(COUNT) + ring.load(LENT);
  ring.unshiftPacked(small, LENT);
  ring.unshiftPacked(first, LENT);
  // given back and no longer lent in the same locked step: a reader that takes them never sees them twice
  expect(ring.load(COUNT)).toBe(3000);
  expect(ring.load(LENT)).toBe(lentBefore);
  expect(ring.load(COUNT) + ring.load(LENT)).toBe(queued);
  expect(takeAll(ring)).toEqual(values);
});

test('giving back into a full ring grows it; the given-back frames still come first', () => {
  const ring = new MessageRing();
  const big = 'y'.repeat(INITIAL_CAPACITY / 4);
  pushRun(ring, [big, big, big]);
  const lent = takeRun(ring, 2);
  pushRun(ring, [big, big, big]); // nearly full again: the lent frames no longer fit without growing
  ring.unshiftPacked(lent, LENT);
  expect(takeAll(ring)).toEqual([big, big, big, big, big, big]);
});
