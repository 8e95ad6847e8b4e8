// CPython's _TestBarrier on child processes (the suite is in helpers/cpython-barrier.ts).
import { barrierSuite } from './helpers/cpython-barrier.js';

barrierSuite('process');
