// Docker HEALTHCHECK: GET /healthz on the selected service's port (liveness, not readiness).
const PORTS = {
  gateway: ['GATEWAY_PORT', 8080],
  history: ['HISTORY_PORT', 8081],
  presence: ['PRESENCE_PORT', 8082],
  notify: ['NOTIFY_PORT', 8083],
};
const [envName, fallback] = PORTS[process.env.SERVICE ?? 'gateway'] ?? PORTS.gateway;
const port = process.env[envName] ?? fallback;
fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) }).then(
  (r) => process.exit(r.ok ? 0 : 1),
  () => process.exit(1),
);
