/**
 * Plans one invocation of a workload: who called, which model in which id form, which operation, how many tokens,
 * whether it failed, what request metadata it carried and what the logging configuration lets through.
 */
import type { Tokens } from '../core/index.ts';
import { inferenceRegionFor, modelIdFor } from './model-ids.ts';
import { ACCOUNTS, MODELS, type ModelSpec, TEXT_DELIVERY_OFF } from './organisation.ts';
import type { Random } from './random.ts';
import { type Calendar, dayIndex, spikeFactor } from './rhythm.ts';
import { EXCHANGES, type Exchange, SYSTEM_PROMPTS } from './texts.ts';
import { drawTiming, drawTokens, type Timing } from './tokens.ts';
import type { Operation, Workload } from './workloads.ts';

export interface Invocation {
  /** Epoch milliseconds, whole seconds. */
  readonly timestamp: number;
  readonly accountId: string;
  readonly region: string;
  readonly inferenceRegion: string | null;
  readonly requestId: string;
  readonly operation: Operation;
  readonly modelId: string;
  readonly model: ModelSpec;
  readonly identityArn: string;
  readonly requestMetadata: Readonly<Record<string, string>> | null;
  readonly tokens: Tokens;
  readonly timing: Timing;
  readonly exchange: Exchange;
  readonly system: string;
  readonly errorCode: string | null;
  /** False for records written the older way, without the cache token fields. */
  readonly cacheFields: boolean;
  /** False where the account/Region logging configuration has text delivery off (no bodies). */
  readonly textDelivery: boolean;
}

/** Per-run state the planner keeps: task ids of each role, and each workload's current chat session. */
export interface PlanContext {
  readonly calendar: Calendar;
  readonly taskIds: Map<string, readonly string[]>;
  readonly sessions: Map<string, string>;
}

export function createPlanContext(
  calendar: Calendar,
  workloads: readonly Workload[],
  rng: Random,
): PlanContext {
  const taskIds = new Map<string, readonly string[]>();
  for (const w of workloads) {
    if (w.caller.kind === 'task-role' && !taskIds.has(w.caller.role)) {
      taskIds.set(w.caller.role, [rng.hex(32), rng.hex(32), rng.hex(32), rng.hex(32)]);
    }
  }
  return { calendar, taskIds, sessions: new Map() };
}

const ERRORS = [
  { code: 'ThrottlingException', weight: 45 },
  { code: 'ValidationException', weight: 25 },
  { code: 'ServiceUnavailableException', weight: 20 },
  { code: 'ModelTimeoutException', weight: 10 },
] as const;
const ERROR_RATE = 0.012;
const ZERO: Tokens = { input: 0, output: 0, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0 };

export function planInvocation(
  w: Workload,
  timestamp: number,
  ctx: PlanContext,
  rng: Random,
): Invocation {
  const accountId = ACCOUNTS[w.account];
  const choice = rng.weighted(w.models, (c) => c.weight);
  const ops = Object.entries(choice.ops) as [Operation, number][];
  const operation = rng.weighted(ops, ([, weight]) => weight)[0];
  const model: ModelSpec = MODELS[choice.model];
  const shape = choice.shape ?? w.shape;
  let tokens = drawTokens(shape, model, rng);
  const timing = drawTiming(shape, model, tokens, rng);
  const errorCode = drawError(w, timestamp, ctx.calendar, rng);
  if (errorCode === 'ModelTimeoutException') {
    tokens = { ...ZERO, input: tokens.input, cacheRead: tokens.cacheRead };
  } else if (errorCode !== null) {
    tokens = ZERO;
  }
  return {
    timestamp,
    accountId,
    region: w.region,
    inferenceRegion: inferenceRegionFor(choice.via, w.region, rng),
    requestId: rng.uuid(),
    operation,
    modelId: modelIdFor(choice.model, choice.via, accountId, w.region),
    model,
    identityArn: identityOf(w, accountId, timestamp, ctx, rng),
    requestMetadata: metadataOf(w, ctx, rng),
    tokens,
    timing,
    exchange: rng.pick(EXCHANGES[shape]),
    system: SYSTEM_PROMPTS[shape],
    errorCode,
    cacheFields: model.cache || (!w.legacy && rng.chance(0.5)),
    textDelivery: !TEXT_DELIVERY_OFF.includes(`${accountId}/${w.region}`),
  };
}

function drawError(w: Workload, timestamp: number, cal: Calendar, rng: Random): string | null {
  // On a spike day the busy workload runs into its quota: extra throttling on top of the base rate.
  const spiking = spikeFactor(w, dayIndex(cal, timestamp), cal) > 1;
  if (spiking && rng.chance(0.04)) return 'ThrottlingException';
  if (!rng.chance(ERROR_RATE)) return null;
  return rng.weighted(ERRORS, (e) => e.weight).code;
}

function identityOf(
  w: Workload,
  accountId: string,
  timestamp: number,
  ctx: PlanContext,
  rng: Random,
): string {
  const role = (name: string, session: string) =>
    `arn:aws:sts::${accountId}:assumed-role/${name}/${session}`;
  const caller = w.caller;
  switch (caller.kind) {
    case 'task-role':
      return role(caller.role, rng.pick(ctx.taskIds.get(caller.role) ?? ['local']));
    case 'lambda-role':
      return role(caller.role, caller.role);
    case 'batch-role': {
      const day = new Date(timestamp).toISOString().slice(0, 10).replaceAll('-', '');
      return role(caller.role, `nightly-etl-${day}`);
    }
    case 'iam-users':
      return `arn:aws:iam::${accountId}:user/${rng.pick(caller.names)}`;
    case 'developers':
      return role('ClaudeCodeDevelopers', rng.weighted(caller.people, (d) => d.activity).email);
  }
}

function metadataOf(w: Workload, ctx: PlanContext, rng: Random): Record<string, string> | null {
  const tagging = w.tagging;
  if (tagging === null || !rng.chance(tagging.rate)) return null;
  let session: string | undefined;
  if (tagging.session) {
    session = ctx.sessions.get(w.name);
    if (session === undefined || !rng.chance(0.7)) {
      session = `sess-${rng.hex(12)}`;
      ctx.sessions.set(w.name, session);
    }
  }
  return {
    ...tagging.tags,
    feature: rng.pick(tagging.features),
    ...(session === undefined ? {} : { session }),
    ...(tagging.users ? { user: rng.pick(tagging.users) } : {}),
  };
}
