// The built package imported inside Jest (its own ES module loader and realm; its require is not Node's):
// the bundle's first-use groups (scripts/first-use.mjs) must load into the same realm as the root, so that
// an error a group throws is the root's class and the group's classes are the root's.
const distRoot = new URL('../dist/lib/index.js', import.meta.url).href;

test('inside Jest, the pools and the primitives are the classes and errors of the root the test imported', async () => {
  const mp = await import(distRoot);
  const pool = new mp.Pool(1);
  try {
    expect(pool).toBeInstanceOf(mp.BasePool);
    expect(pool.constructor).toBe(mp.Pool);
    await expect(pool.apply((x: unknown) => x, [() => 1])).rejects.toBeInstanceOf(mp.SerializationError);
    expect(await pool.apply((a: number, b: number) => a + b, [2, 3])).toBe(5);
  } finally {
    await pool.terminate();
  }
  const q = new mp.Queue();
  await expect(q.get(true, 0.001)).rejects.toBeInstanceOf(mp.Empty);
  q.close();
}, 60_000);
