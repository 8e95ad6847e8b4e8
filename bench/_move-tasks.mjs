// Tasks for bench/move.mjs: touch the array (so the worker really has it) and hand it back.
import { move } from '../dist/lib/index.js';

/** Returns the array as it came: copied back. */
export function echoCopy(a) {
  a[0] += 1;
  return a;
}

/** Returns the array moved back. */
export function echoMove(a) {
  a[0] += 1;
  return move(a);
}
