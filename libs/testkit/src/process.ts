import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Registry of every child and temp dir this process created, so that no server outlives the run:
// normal exit and SIGINT/SIGTERM/SIGHUP kill children synchronously; a detached watchdog shell kills
// them if this process itself dies by SIGKILL (where no handler can run).

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();
const exitHooks = new Set<() => void>();
let registryFile: string | undefined;
let installed = false;
let gracefulOwner = false;

/** Called by a caller that stops its servers itself on SIGINT/SIGTERM; the 'exit' hook still applies. */
export function handleSignalsGracefully(): void {
  gracefulOwner = true;
}

/** Spawns `cmd` with stdout+stderr appended to `logFile`; the child is killed when this process exits. */
export function spawnLogged(
  cmd: string,
  args: readonly string[],
  opts: { logFile: string; cwd?: string; env?: NodeJS.ProcessEnv; uid?: number; gid?: number },
): ChildProcess {
  installExitHandlers();
  const fd = openSync(opts.logFile, 'a');
  try {
    // uid/gid (as root only): the child itself switches user before exec, so its pid is the
    // server's own (a `runuser` wrapper would be what SIGKILL hits, orphaning the server).
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', fd, fd],
      ...(opts.uid !== undefined ? { uid: opts.uid } : {}),
      ...(opts.gid !== undefined ? { gid: opts.gid } : {}),
    });
    children.add(child);
    writeRegistry();
    child.once('exit', () => {
      children.delete(child);
      writeRegistry();
    });
    // An 'error' (e.g. ENOENT) surfaces through waitExit/readiness; without a listener it would crash.
    child.on('error', () => {});
    return child;
  } finally {
    closeSync(fd);
  }
}

/** Resolves once the child has exited (immediately if it already has). */
export function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
}

/** Sends `signal`, waits for exit; escalates to SIGKILL after `graceMs` so stop() always terminates. */
export async function terminate(
  child: ChildProcess,
  signal: NodeJS.Signals,
  graceMs = 20_000,
): Promise<void> {
  const exited = waitExit(child);
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

/** True while a process with this pid exists (signal 0 probes without killing). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Creates os.tmpdir()/parley-test-<label>-XXXX; removed at process exit or by removeTempDir(). */
export function makeTempDir(label: string): string {
  installExitHandlers();
  const dir = mkdtempSync(join(tmpdir(), `parley-test-${label}-`));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  tempDirs.delete(dir);
  rmSync(dir, { recursive: true, force: true });
}

/** Registers a synchronous cleanup run at process exit (e.g. `docker rm -f`); returns an unregister fn. */
export function atExit(hook: () => void): () => void {
  installExitHandlers();
  exitHooks.add(hook);
  return () => exitHooks.delete(hook);
}

function killAllNow(): void {
  for (const hook of exitHooks) {
    try {
      hook();
    } catch {
      // best effort: one failing hook must not keep children alive
    }
  }
  exitHooks.clear();
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
  if (registryFile) rmSync(registryFile, { force: true });
}

function writeRegistry(): void {
  if (!registryFile) return;
  const pids = [...children].map((c) => c.pid).filter((p): p is number => p !== undefined);
  writeFileSync(registryFile, pids.length ? `${pids.join('\n')}\n` : '');
}

function installExitHandlers(): void {
  if (installed) return;
  installed = true;
  // 'exit' also runs after an uncaught exception ends the process, so that case needs no own hook
  // (an 'uncaughtException' listener would change whether the process dies).
  process.on('exit', killAllNow);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      // Other listeners (vitest, tsx) may end the process in ways that skip 'exit' (re-raising the
      // signal), so kill now unless the caller promised a graceful shutdown (`infra up`).
      if (gracefulOwner) return;
      killAllNow();
      process.off(sig, onSignal);
      // Re-raise only if nobody else handles it, so default termination still happens.
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
  startWatchdog();
}

// A detached shell (own process group, so a terminal Ctrl-C does not kill it first) polls this pid
// and SIGKILLs the pids listed in the registry file once it is gone. It exits by itself.
function startWatchdog(): void {
  registryFile = join(tmpdir(), `parley-test-children-${process.pid}`);
  writeFileSync(registryFile, '');
  const script = `trap '' INT TERM HUP
while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done
[ -f "$0" ] && for p in $(cat "$0"); do kill -9 "$p" 2>/dev/null; done
rm -f "$0"`;
  const dog = spawn('sh', ['-c', script, registryFile], { detached: true, stdio: 'ignore' });
  dog.on('error', () => {});
  dog.unref();
}

/** Last `n` lines of a log file, for error messages. */
export function tailFile(file: string, n = 25): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '(no log output)';
  }
}
