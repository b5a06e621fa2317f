/**
 * gateway/governance: budgets, RPM/TPM limits, model allow/deny lists and budget-aware downgrade for the gateway's
 * hot path. State sits behind the `CounterStore` port (in memory, or shared by replicas in Redis: redis-counter-store.ts,
 * imported only when configured); time comes from the caller's clock. Imports core and the gateway's config schema.
 */
export type {
  CounterCommit,
  CounterLevel,
  CounterOp,
  CounterRef,
  CounterStore,
  CounterWindow,
  ReserveOutcome,
} from './counter-store.ts';
export { createMemoryCounterStore } from './counter-store.ts';
export type {
  Admission,
  AdmitRequest,
  Governor,
  GovernorDeps,
  SpendEntry,
  Ticket,
} from './governor.ts';
export { createGovernor } from './governor.ts';
export { calendarSpan, type PeriodName, type Span } from './periods.ts';
export type { Refusal, RefusalCode } from './report.ts';
export type { BudgetStatus, GovernorStatus, LimitStatus } from './status.ts';
export {
  converseMedia,
  type MediaBlocks,
  rawBodyMedia,
  type WorstCaseInput,
  type WorstCaseTokens,
  worstCaseCost,
  worstCaseTokens,
} from './worst-case.ts';
