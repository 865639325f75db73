// Image entry point: runs the service named by SERVICE (or the first argument).
const SERVICES = ['gateway', 'history', 'presence', 'notify'];
const name = process.argv[2] ?? process.env.SERVICE;
if (!name || !SERVICES.includes(name)) {
  console.error(`SERVICE must be one of ${SERVICES.join(', ')} (got ${name ?? 'nothing'})`);
  process.exit(2);
}
await import(`./${name}.mjs`);
