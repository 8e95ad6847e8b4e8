/**
 * Thread workers' progress slots: shared memory where a thread worker writes which task of a batch it
 * has started, so that when it is killed outright (or stopped by tinypool) we know which tasks ran.
 * Child processes have none (they say it in their 'dying' note when they can).
 */

/** Slots: more than batches can be in flight at once, so a slot is free again when its number comes back. */
const PROGRESS_SLOTS = 4096;

export class ProgressSlots {
  /** Handed to thread workers (WorkerConfig.progress). */
  readonly array = new Int32Array(new SharedArrayBuffer(4 * PROGRESS_SLOTS));

  /** The slot of batch `id`, cleared for it. */
  claim(id: number): number {
    const slot = id % PROGRESS_SLOTS;
    Atomics.store(this.array, slot, 0);
    return slot;
  }

  /** The task of batch `id` its worker was running, from its slot (-1: none had started). */
  startedTask(id: number): number {
    return Atomics.load(this.array, id % PROGRESS_SLOTS) - 1;
  }
}
