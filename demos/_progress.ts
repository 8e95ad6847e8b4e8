// Shared by the demos: a progress bar on a terminal (cli-progress), plain lines otherwise (CI logs, pipes).
import cliProgress from 'cli-progress';

export function progress(total: number, label: string) {
  if (!process.stdout.isTTY) return { tick: (line: string) => console.log(line), stop: () => {} };
  const bar = new cliProgress.SingleBar({ format: `${label} [{bar}] {value}/{total}`, hideCursor: true }, cliProgress.Presets.shades_classic);
  const lines: string[] = [];
  bar.start(total, 0);
  return {
    tick: (line: string) => {
      lines.push(line);
      bar.increment();
    },
    stop: () => {
      bar.stop();
      for (const line of lines) console.log(line);
    },
  };
}
