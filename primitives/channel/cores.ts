/** The channel core classes by name, for the broker thread to rebuild a core from its shared memory. */
export { PipeEndCore } from './pipe-core.js';
export { QueueCore } from './queue-core.js';
