/**
 * attribute: who and what each record belongs to (team, user, feature, …), with the winning rule recorded.
 * Imports core only.
 */
export * from './attribute.ts';
export * from './config.ts';
export * from './identity.ts';
