/** The IPC primitives: re-exports only. Each concept lives in its own module. */
export {};
