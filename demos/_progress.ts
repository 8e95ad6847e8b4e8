// Shared by the demos: a progress bar on a terminal (cli-progress), plain lines otherwise (CI logs, pipes).
// `tick(line)` counts one step and keeps a line to print at the end; `update(done)` sets the count, as a
// pool's onProgress(done, total) reports it.
import cliProgress from 'cli-progress';

export function progress(total: number, label: string) {
  if (!process.stdout.isTTY) {
    let shown = -1;
    return {
      tick: (line: string) => console.log(line),
      update: (done: number) => {
        // a line per quarter, not per item, in a log
        const quarter = Math.floor((done / Math.max(total, 1)) * 4);
        if (quarter !== shown) console.log(`${label}: ${done}/${total}`);
        shown = quarter;
      },
      stop: () => {},
    };
  }
  const bar = new cliProgress.SingleBar({ format: `${label} [{bar}] {value}/{total}`, hideCursor: true }, cliProgress.Presets.shades_classic);
  const lines: string[] = [];
  bar.start(total, 0);
  return {
    tick: (line: string) => {
      lines.push(line);
      bar.increment();
    },
    update: (done: number) => bar.update(done),
    stop: () => {
      bar.stop();
      for (const line of lines) console.log(line);
    },
  };
}
