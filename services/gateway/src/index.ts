export { type GatewayConfig, gatewaySchema, loadGatewayConfig } from './config.ts';
export { Gateway, type GatewayDeps } from './gateway.ts';
