// CPython's _TestBarrier on worker threads (the suite is in helpers/cpython-barrier.ts).
import { barrierSuite } from './helpers/cpython-barrier.js';

barrierSuite('thread');
