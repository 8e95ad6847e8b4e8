/**
 * Calls grouped by their AbortSignal: one 'abort' listener per signal, however many calls share it,
 * removed with the last of them. Used by both engines (tinypool, cluster).
 */
export class SignalGroups<T> {
  readonly #groups = new Map<AbortSignal, { members: Set<T>; listener: () => void }>();
  readonly #onAbort: (signal: AbortSignal, members: T[]) => void;

  /** `onAbort` gets the members the signal still has when it fires. */
  constructor(onAbort: (signal: AbortSignal, members: T[]) => void) {
    this.#onAbort = onAbort;
  }

  add(signal: AbortSignal, member: T): void {
    let group = this.#groups.get(signal);
    if (!group) {
      const members = new Set<T>();
      const listener = () => this.#onAbort(signal, [...members]);
      group = { members, listener };
      this.#groups.set(signal, group);
      signal.addEventListener('abort', listener, { once: true });
    }
    group.members.add(member);
  }

  delete(signal: AbortSignal, member: T): void {
    const group = this.#groups.get(signal);
    if (!group) return;
    group.members.delete(member);
    if (group.members.size === 0) {
      signal.removeEventListener('abort', group.listener);
      this.#groups.delete(signal);
    }
  }

  /** The members `signal` has now. */
  members(signal: AbortSignal): T[] {
    const group = this.#groups.get(signal);
    return group ? [...group.members] : [];
  }

  /** Removes every listener. */
  clear(): void {
    for (const [signal, group] of this.#groups) signal.removeEventListener('abort', group.listener);
    this.#groups.clear();
  }
}
