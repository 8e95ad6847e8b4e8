// Waiting for a state that has no event of its own (a process gone, a file removed, a key in Redis):
// the state is checked until it holds, with a deadline, never slept on blindly.

/** Polls `check` until it returns a truthy value; fails after `ms`, naming `what`. For state, not for ordering. */
export async function until<T>(check: () => Promise<T> | T, ms = 10_000, what = 'the condition'): Promise<Exclude<T, null | undefined | false | 0 | ''>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value as Exclude<T, null | undefined | false | 0 | ''>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
