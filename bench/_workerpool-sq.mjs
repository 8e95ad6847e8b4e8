// workerpool's worker for the comparison rows: the same x*x (or a batch of them) as _tinypool-sq.mjs.
import workerpool from 'workerpool';
import sq from './_tinypool-sq.mjs';

workerpool.worker({ sq });
