/**
 * The PyMOTW programs of one test file (__tests__/fixtures/pymotw/multiprocessing_<name>.ts): started a few
 * at a time before its tests, all ended after them; `output(name)` is a program's stdout lines once it has
 * exited by itself with status 0, `run(name)` its exit code, stdout and stderr.
 */
import { fileURLToPath } from 'node:url';
import { runFiles } from './programs.js';

const dir = fileURLToPath(new URL('../fixtures/pymotw/', import.meta.url));

export function pymotwPrograms<P extends string>(programs: readonly P[]) {
  const file = (name: P) => `${dir}multiprocessing_${name}.ts`;
  let runs: ReturnType<typeof runFiles>;
  beforeAll(() => {
    runs = runFiles(programs.map(file), 3);
  });
  afterAll(async () => {
    await Promise.allSettled(runs.values()); // no program outlives the file
  });
  const run = (name: P) => runs.get(file(name))!;
  const output = async (name: P): Promise<string[]> => {
    const { code, out, err } = await run(name);
    if (code !== 0) console.log(`${name}\nstdout:\n${out}\nstderr:\n${err}`);
    expect(code).toBe(0);
    return out.trim().split('\n');
  };
  return { output, run };
}
