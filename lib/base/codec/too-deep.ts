/** Values nested deeper than the serializer (and our walks over them) can follow. */

/** Whether `err` is the engine running out of stack: the value is nested deeper than the serializer follows. */
export function isStackOverflow(err: unknown): boolean {
  // duck-typed: structuredClone may throw a RangeError of another realm (the main one, seen from a vm context)
  const { name, message } = (err ?? {}) as { name?: unknown; message?: unknown };
  return name === 'RangeError' && typeof message === 'string' && /call stack/i.test(message);
}

/** The message of a value nested deeper than structured clone (and our walks) can follow. */
export const TOO_DEEP = 'nested too deeply to be sent (structured clone follows a few thousand levels at most)';
