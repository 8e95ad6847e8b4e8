/** Values nested deeper than the serializer (and our walks over them) can follow. */

/** Whether `err` is the engine running out of stack: the value is nested deeper than the serializer follows. */
export function isStackOverflow(err: unknown): boolean {
  return err instanceof RangeError && /call stack/i.test(err.message);
}

/** The message of a value nested deeper than structured clone (and our walks) can follow. */
export const TOO_DEEP = 'nested too deeply to be sent (structured clone follows a few thousand levels at most)';
