/**
 * normalise: RawUsage → UsageRecord. Canonical model ids, inference profiles and scope; flags for what is unknown.
 * Imports core only.
 */
export * from './model-id.ts';
export * from './normalise.ts';
