/**
 * config: one YAML file → one strict, validated Config. Imports core and the modules whose schemas it composes.
 */
export * from './load.ts';
export * from './schema.ts';
