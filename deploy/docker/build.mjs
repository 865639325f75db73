// Bundles each service's main.ts (and the workspace libs it imports) into one ESM file per
// service, so the image runs plain `node` with no TypeScript tooling. Third-party packages stay
// external and come from a production-only `npm ci --omit=dev` (uWebSockets.js is native).
//   node deploy/docker/build.mjs [appDir]      (default: dist/app)
// Layout (the image's /app): dist/<service>.mjs, dist/entry.mjs, dist/healthcheck.mjs, and
// public/ (the gateway's pages, with the SDK bundle built into it: the gateway reads them from
// ../public relative to its bundle).
import { spawnSync } from 'node:child_process';
import { cp, mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const SERVICES = ['gateway', 'history', 'presence', 'notify'];
const root = fileURLToPath(new URL('../../', import.meta.url));

/** Workspace packages (@parley/*) and relative imports are bundled; every other package is external. */
const externalPackages = {
  name: 'external-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith('@parley/') ? undefined : { path: args.path, external: true },
    );
  },
};

export async function buildServices(appDir = join(root, 'dist', 'app')) {
  const app = resolve(appDir);
  const out = join(app, 'dist');
  for (const d of [out, join(app, 'public')]) await rm(d, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  await build({
    entryPoints: Object.fromEntries(SERVICES.map((s) => [s, join(root, 'services', s, 'src', 'main.ts')])),
    outdir: out,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    sourcemap: true,
    logLevel: 'warning',
    plugins: [externalPackages],
  });
  for (const f of ['entry.mjs', 'healthcheck.mjs']) await cp(join(root, 'deploy', 'docker', f), join(out, f));
  await cp(join(root, 'services', 'gateway', 'public'), join(app, 'public'), { recursive: true });
  // The SDK bundle the demo page loads is not committed: built here from the sources being packed,
  // so the image serves it without esbuild at run time.
  const sdk = spawnSync(
    'npm',
    ['run', 'build', '--silent', '-w', '@parley/client', '--', join(app, 'public', 'parley-client.js')],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
  if (sdk.status !== 0) throw new Error('building the SDK bundle (npm run build -w @parley/client) failed');
  return app;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = await buildServices(process.argv[2]);
  console.log(`built ${SERVICES.join(', ')} into ${out}`);
}
