/**
 * price: the catalog (data in catalog/bedrock, validated and hashed) and the pure pricing rule. Imports core only.
 */
export * from './catalog.ts';
export * from './catalog-schema.ts';
export * from './check.ts';
export * from './price-list.ts';
export * from './price-record.ts';
