import type { ChildProcess } from 'node:child_process';
import { removeTempDir, spawnLogged, tailFile, terminate, waitExit } from './process.ts';
import { sleep } from './util.ts';

export type ServerName = 'nats' | 'kafka' | 'mongo';

/** A real server for tests. Fault methods work only on servers this kit started (external=false). */
export interface ServerHandle extends AsyncDisposable {
  readonly name: ServerName;
  /** nats://127.0.0.1:PORT | 127.0.0.1:PORT (Kafka bootstrap) | mongodb://127.0.0.1:PORT/ ; fixed for life. */
  readonly url: string;
  /** True when the URL came from the environment: nothing was started, fault methods throw. */
  readonly external: boolean;
  /** SIGTERM, resolves once the process has exited (SIGKILL after a grace period). */
  stop(): Promise<void>;
  /** SIGKILL (kill -9), resolves once the process has exited; data written so far stays on disk. */
  kill(): Promise<void>;
  /** (Re)starts on the same port and data dir; resolves after a protocol round trip succeeded. */
  start(): Promise<void>;
}

/** A server process to spawn; uid/gid run it as another OS user (needs root). */
export interface Command {
  cmd: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  uid?: number;
  gid?: number;
}

/** How to run and probe one local server process. */
export interface LocalSpec {
  name: ServerName;
  /** Name in error messages when it is not `name` (a helper process such as PostgreSQL). */
  label?: string;
  url: string;
  dataDir: string;
  logFile: string;
  command: () => Command;
  /** One readiness attempt: resolves only after a real protocol round trip, throws otherwise. */
  probe: () => Promise<void>;
  readyTimeoutMs: number;
  /** Signal of stop(); default SIGTERM (PostgreSQL wants SIGINT: SIGTERM waits for clients to leave). */
  stopSignal?: NodeJS.Signals;
  /** What the user can do when start fails (shown in the error). */
  fix: string;
}

export class ServerStartError extends Error {
  override readonly name = 'ServerStartError';
}

/** A server running as a child process of this one. */
export class LocalServer implements ServerHandle {
  readonly external = false;
  #child: ChildProcess | undefined;

  constructor(readonly spec: LocalSpec) {}

  get name(): ServerName {
    return this.spec.name;
  }
  get url(): string {
    return this.spec.url;
  }
  /** Pid of the running process (undefined when stopped); tests use it to prove nothing is left behind. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  async start(): Promise<void> {
    if (this.#child && this.#child.exitCode === null && this.#child.signalCode === null) return;
    const { cmd, args, ...rest } = this.spec.command();
    const child = spawnLogged(cmd, args, { logFile: this.spec.logFile, ...rest });
    this.#child = child;
    let spawnError: Error | undefined;
    child.once('error', (err) => {
      spawnError = err;
    });
    let hasExited = false;
    const exited = waitExit(child).then(() => {
      hasExited = true;
    });
    const deadline = Date.now() + this.spec.readyTimeoutMs;
    let lastError: unknown;
    for (;;) {
      if (hasExited || spawnError) {
        const why = spawnError
          ? `could not run ${cmd}: ${spawnError.message}`
          : `process exited (code ${child.exitCode}, signal ${child.signalCode}) before it was ready`;
        throw this.#startError(why);
      }
      try {
        await this.spec.probe();
        return;
      } catch (err) {
        lastError = err;
      }
      if (Date.now() > deadline) {
        await terminate(child, 'SIGKILL');
        const why = lastError instanceof Error ? lastError.message : String(lastError);
        throw this.#startError(`not ready after ${this.spec.readyTimeoutMs} ms (last probe error: ${why})`);
      }
      await Promise.race([exited, sleep(150)]);
    }
  }

  async stop(): Promise<void> {
    if (this.#child) await terminate(this.#child, this.spec.stopSignal ?? 'SIGTERM');
  }

  async kill(): Promise<void> {
    if (this.#child) await terminate(this.#child, 'SIGKILL');
  }

  /** Stops the server and deletes its data dir (the log file is kept). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
    removeTempDir(this.spec.dataDir);
  }

  #startError(why: string): ServerStartError {
    const { name, label, logFile, fix } = this.spec;
    return new ServerStartError(
      `${label ?? name} failed to start: ${why}.\nLog file: ${logFile}\n--- last lines ---\n${tailFile(logFile)}\n---\nFix: ${fix}`,
    );
  }
}

/** A server given by URL in the environment: usable, but the kit may not stop or restart it. */
export class ExternalServer implements ServerHandle {
  readonly external = true;

  constructor(
    readonly name: ServerName,
    readonly url: string,
    readonly envVar: string,
  ) {}

  stop(): Promise<void> {
    return this.#refuse('stop');
  }
  kill(): Promise<void> {
    return this.#refuse('kill');
  }
  start(): Promise<void> {
    return this.#refuse('start');
  }
  async [Symbol.asyncDispose](): Promise<void> {
    // Not ours: leave it running.
  }

  #refuse(op: string): Promise<never> {
    return Promise.reject(
      new Error(
        `cannot ${op}() the external ${this.name} server at ${this.url} (from ${this.envVar}): fault tests need a ` +
          `locally started server. Unset ${this.envVar} so the test kit starts its own.`,
      ),
    );
  }
}
