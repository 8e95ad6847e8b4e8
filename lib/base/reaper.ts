/**
 * Child processes must not outlive their parent, even when the parent is killed (SIGKILL runs no
 * code of ours) and even when the child is stuck in a CPU loop (it never sees its IPC channel close).
 *
 * The reaper is one tiny `sh` process per parent, started with the first child: it reads child pids
 * on its stdin, one per line (`-pid` forgets one), and when its stdin reaches end of file — which the
 * kernel causes when the parent dies, however it dies — it SIGKILLs the pids it still holds. Nothing
 * polls. It never keeps the parent alive, and costs one `sh` (~1 MB) per parent process. It also
 * removes the private socket directories the parent made (a line starting with `/`): a process killed
 * by a signal runs no exit code, and would leave them behind. It ignores SIGINT, SIGTERM and SIGHUP, so
 * a Ctrl-C to the process group (or a closing terminal) does not end it before its parent.
 *
 * When the parent exits normally, it also terminates those children itself, in its 'exit' event, as
 * Python terminates its daemonic children at exit: the signal is sent before the parent's sockets close,
 * so a child blocked in a call to the parent ends at once instead of first seeing the connection drop
 * and reporting it (the reaper's SIGKILL only follows the end of file, which races that report).
 */
import type * as ChildProcesses from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type * as Fs from 'node:fs';
import { builtin } from './builtin.js';

// Ctrl-C signals the whole process group: the reaper ignores it (and TERM, HUP) so that it outlives the
// parent and still stops a child that handles SIGINT but is stuck in synchronous code.
const SCRIPT = [
  "trap '' INT TERM HUP",
  'pids=" "',
  'dirs=""',
  'while IFS= read -r line; do',
  '  case "$line" in',
  '    /*) dirs="$dirs$line',
  '" ;;',
  // forget a pid with the shell's own string operations: a sed per exit cost a fork and an exec each
  '    -*) p=${line#-}; case "$pids" in *" $p "*) pids="${pids%% $p *} ${pids#* $p }" ;; esac ;;',
  '    *) pids="$pids$line " ;;',
  '  esac',
  'done',
  'for p in $pids; do kill -9 "$p" 2>/dev/null; done',
  'printf "%s" "$dirs" | while IFS= read -r d; do rm -rf -- "$d"; done',
].join('\n');

let reaper: ChildProcess | null | undefined;
let fd = -1;
// Pids of children that may stay alive when the parent exits normally (a non-daemon Process the user
// left running when calling process.exit()): forgotten at exit so the reaper leaves them alone, as
// Python leaves non-daemon children running.
const spared = new Set<number>();
/** Every pid the reaper holds (spared or not). */
const held = new Set<number>();

function start(): ChildProcess | null {
  if (reaper !== undefined) return reaper;
  try {
    reaper = builtin<typeof ChildProcesses>('node:child_process').spawn('/bin/sh', ['-c', SCRIPT], { stdio: ['pipe', 'ignore', 'ignore'], detached: false });
  } catch {
    reaper = null; // no sh: children are still stopped by their IPC channel closing, just not when busy
    return reaper;
  }
  reaper.on('error', () => {
    reaper = null;
  });
  reaper.unref();
  const stdin = reaper.stdin as unknown as { _handle?: { fd?: number }; unref?: () => void };
  stdin.unref?.();
  fd = stdin._handle?.fd ?? -1;
  process.once('exit', () => {
    for (const pid of spared) tell(`-${pid}`);
    for (const pid of held) {
      if (spared.has(pid)) continue;
      try {
        // SIGTERM, as Python's terminate(): with no handler installed its default action ends every
        // thread of the child now, before this process's exit closes what the child is blocked on.
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  });
  return reaper;
}

// Written synchronously: a line must reach the reaper before the parent can die, and at 'exit' an
// asynchronous write would never happen.
function tell(line: string): void {
  if (fd < 0) {
    reaper?.stdin?.write(`${line}\n`);
    return;
  }
  try {
    builtin<typeof Fs>('node:fs').writeSync(fd, `${line}\n`);
  } catch {
    // the reaper is gone (killed with our process group): nothing left to tell
  }
}

/** Kill `pid` if this process dies while it is still alive. `spare`: not when this process exits normally. */
export function reapWithParent(pid: number | undefined, spare = false): void {
  if (pid === undefined || !start()) return;
  if (spare) spared.add(pid);
  held.add(pid);
  tell(String(pid));
}

/** `pid` has exited (or is spared from now on): the reaper forgets it. */
export function forgetChild(pid: number | undefined): void {
  if (pid === undefined || !reaper) return;
  spared.delete(pid);
  held.delete(pid);
  tell(`-${pid}`);
}

/**
 * Remove the directory `dir` (an absolute path) when this process dies, however it dies (a normal
 * exit removes it itself, earlier). Starts the reaper if need be.
 */
export function removeWithParent(dir: string): void {
  if (!dir.startsWith('/') || dir.includes('\n') || !start()) return;
  tell(dir);
}
