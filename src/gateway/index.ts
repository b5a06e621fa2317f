/**
 * gateway: a drop-in Bedrock runtime endpoint (and OpenAI chat completions) that authenticates virtual keys,
 * enforces budgets, rate limits and model policy, injects attribution as Bedrock request metadata, forwards with
 * SigV4 and records every call through a local spool. Imports core only; the CLI composes it with the store and
 * the pricing pipeline.
 */
export { expiryOf, graceOf, keyAttributes, publicKey, revokedKey, rotate } from './admin.ts';
export { type GatewayConfig, gatewayConfigSchema } from './config.ts';
export { createAwsCredentialSource, roleSessionName, stsEndpoint } from './credentials.ts';
export {
  createGateway,
  GATEWAY_SOURCE,
  type Gateway,
  type GatewayDeps,
  type GatewayOptions,
} from './gateway.ts';
export {
  createGovernor,
  createMemoryCounterStore,
  type Governor,
  type SpendEntry,
} from './governance/index.ts';
export { startKeySync } from './key-sync.ts';
export { hashKey, KeyRing, newKey, type VirtualKey } from './keys.ts';
/** Counters shared by replicas in Redis; loaded on demand (the Redis client only when configured). */
export const loadRedisCounterStore = () => import('./governance/redis-counter-store.ts');
/** Keys shared by replicas in the same Redis; loaded on demand like the counters. */
export const loadRedisSharedKeys = () => import('./redis-shared-keys.ts');
export { createDualServer, type DualServer } from './listen.ts';
export {
  createSpool,
  decodeLine,
  encodeLine,
  type LinesOutcome,
  type Spool,
  type SpoolStats,
} from './spool.ts';
export {
  type BedrockUpstream,
  type CredentialSource,
  createHttpUpstream,
  upstreamEndpoint,
} from './upstream.ts';
