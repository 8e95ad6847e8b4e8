/**
 * Lists made only of numbers cross as one Float64Array: a memcpy instead of cloning every element
 * (12500 numbers: ~0.05 ms instead of ~0.4 ms). Results stay packed until the consumer copies them
 * into its own output, which costs one pass instead of two. Lossless, since every JS number is a double.
 */
export function packNumbers(list: unknown[]): Float64Array | null {
  const n = list.length;
  if (n < 64) return null; // small lists clone fast enough; keep them as they are
  for (let i = 0; i < n; i++) if (typeof list[i] !== 'number') return null;
  return Float64Array.from(list as number[]);
}

/** A chunk's results: a plain list, or numbers still packed (copied out by index, never via Array.from). */
export type ChunkResults = ArrayLike<unknown>;
