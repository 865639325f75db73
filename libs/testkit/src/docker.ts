import { execFile, execFileSync } from 'node:child_process';
import { atExit } from './process.ts';
import type { ServerHandle, ServerName } from './server.ts';
import { eventually } from './util.ts';

// Docker path (ARCHITECTURE §8, second choice). NOT exercised here: the dev and CI machines have no
// Docker engine, so this is kept minimal (docker CLI, no testcontainers dependency) and untested.
// Host ports are chosen by us and mapped 1:1 so a restarted container keeps its URL.

let available: Promise<boolean> | undefined;

/** True when `docker info` succeeds (a reachable engine, not just the CLI). Checked once per process. */
export function dockerAvailable(): Promise<boolean> {
  if (process.env.PARLEY_NO_DOCKER === '1') return Promise.resolve(false);
  available ??= new Promise((resolve) => {
    execFile('docker', ['info'], { timeout: 10_000 }, (err) => resolve(!err));
  });
  return available;
}

export interface DockerSpec {
  name: ServerName;
  url: string;
  image: string;
  ports: Array<[host: number, container: number]>;
  args?: string[];
  env?: Record<string, string>;
  probe: () => Promise<void>;
}

function docker(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('docker', args, { timeout: 300_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`docker ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout.trim()),
    );
  });
}

/** Runs the image as a container and waits for the probe; the container is removed at exit. */
export async function startDocker(spec: DockerSpec): Promise<ServerHandle> {
  const publish = spec.ports.flatMap(([h, c]) => ['-p', `127.0.0.1:${h}:${c}`]);
  const env = Object.entries(spec.env ?? {}).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  const id = await docker(['run', '-d', ...publish, ...env, spec.image, ...(spec.args ?? [])]);
  const unregister = atExit(() => execFileSync('docker', ['rm', '-f', '-v', id], { stdio: 'ignore' }));
  const ready = () =>
    eventually(spec.probe, { timeoutMs: 120_000, intervalMs: 250, message: `${spec.name} container ${id}` });
  const handle: ServerHandle = {
    name: spec.name,
    url: spec.url,
    external: false,
    stop: async () => void (await docker(['stop', id])),
    kill: async () => void (await docker(['kill', id])),
    start: async () => {
      await docker(['start', id]);
      await ready();
    },
    [Symbol.asyncDispose]: async () => {
      await docker(['rm', '-f', '-v', id]);
      unregister();
    },
  };
  await ready();
  return handle;
}
