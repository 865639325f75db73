// `npm start`: the one command that runs Parley on a fresh clone. Installs dependencies on first run,
// builds the browser SDK bundle the demo page loads, then starts embedded mode (all four services in
// one process; memory adapters unless NATS_URL, KAFKA_BROKERS and MONGO_URL are set). Plain JS so it
// runs before anything is installed.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  console.warn(
    `parley: Node ${process.versions.node} found; Node 22 is the supported runtime (it may still work).`,
  );
}
if (!existsSync(join(root, 'node_modules', '.package-lock.json'))) {
  console.log('parley: first run, installing dependencies (npm install, from the lockfile)...');
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(
      'parley: npm install failed; check access to the npm registry, then run `npm start` again.',
    );
    process.exit(r.status ?? 1);
  }
}
// The demo page's SDK bundle is built, not committed, so it always matches the SDK sources
// (esbuild comes with tsx, which this launcher needs anyway).
const built = spawnSync('npm', ['run', 'build', '--silent', '-w', '@parley/client'], {
  cwd: root,
  stdio: 'inherit',
});
if (built.status !== 0) {
  console.error('parley: building the SDK bundle for the demo page failed (see above).');
  process.exit(built.status ?? 1);
}
// The service runs in its own process group and gets each signal once, from here: a terminal's
// Ctrl-C reaches only this launcher's group, and a process manager's SIGTERM to this pid is passed on.
const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'embedded', 'src', 'main.ts')], {
  cwd: root,
  stdio: 'inherit',
  detached: true,
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
