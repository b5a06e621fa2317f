/**
 * The governor: admits a call (model policy, RPM/TPM, budgets, downgrade) by reserving its worst case, and settles
 * it with what Bedrock billed.
 *
 * Overshoot bound. For every blocking budget, `reserve` admits a call only if spent + reserved + worst case ≤ limit,
 * atomically over all the counters the call touches; settlement replaces a reservation by the actual cost; period
 * rollover and rolling-window expiry only lower spend. So spent + reserved ≤ limit holds at every instant as long
 * as no call costs more than it reserved. In words (README-ready):
 *
 *   "A hard budget is never exceeded when every reservation is sound (the call's billed cost ≤ its reserved worst
 *   case, see worst-case.ts). Otherwise a period's spend can pass the limit by at most the sum of the
 *   underestimates (billed − reserved) of the calls that were in flight at the last admission into that period:
 *   at most one call's underestimate per concurrent call. Spend loaded from the ledger and calls admitted by other
 *   processes sharing no counter store are outside this bound."
 *
 * Where spend lands: a call is charged to the period (or rolling bucket) in which it settles, and while in flight
 * its reservation counts against whatever period is current, so a call that straddles midnight is safe on both
 * sides. A refused call consumes nothing (no RPM either: the reservation is all or nothing).
 *
 * Idempotency: `settle` and `release` act once per ticket; later calls for the same ticket return false and change
 * nothing.
 *
 * Expiry: a ticket neither settled nor released within `reservation.expireAfterMs` (default: the upstream timeout plus
 * one minute) of its last sign of life — admission, or `touch` by a stream still sending (the upstream timeout is an
 * idle timeout: a stream may run for longer) — is released, logged and counted (`status().expiredTickets`), so a lost
 * call cannot hold budget forever. Expired tickets are released lazily, by the next `admit` or `status`, oldest first.
 * The store enforces the same bound on its own: each reservation is a hold under the ticket id that expires at the
 * same instant (moved by `touch`), released by any process's next admission, so a crashed replica's calls, or
 * settlements that could not reach the store, do not hold budget either; releases pass the ticket id, so whichever of
 * the two expiries (or the settlement) comes first releases it, once. Settling an expired ticket later still charges
 * what was billed, once (its reservation is already gone), and counts in `lateSettlements`: a call that outlives the
 * bound is not reserved for the rest of its run, which the overshoot bound above does not cover — a growing
 * `lateSettlements` means the bound is too short for the calls being made.
 */
import { randomUUID } from 'node:crypto';
import { type Logger, UNALLOCATED } from '../../core/index.ts';
import type { GatewayConfig } from '../config.ts';
import {
  type CounterCommit,
  type CounterLevel,
  type CounterOp,
  type CounterStore,
  createMemoryCounterStore,
} from './counter-store.ts';
import {
  compileDowngrades,
  compileModelPolicy,
  MEMO_MAX,
  type ScopeValues,
  scopeValues,
} from './policy.ts';
import {
  budgetHeaders,
  budgetRefusal,
  modelRefusal,
  type Refusal,
  rateHeaders,
  rateRefusal,
} from './report.ts';
import {
  type BudgetRule,
  compileBudgets,
  compileLimits,
  LIMIT_WINDOW,
  type LimitRule,
  labelOf,
  type Matched,
} from './rules.ts';
import { type GovernorStatus, statusOf } from './status.ts';

/** One call asking to be forwarded. Absent (or null) attribution counts as `unallocated`. */
export interface AdmitRequest {
  /** The virtual key's id. */
  readonly key: string;
  readonly team?: string | null | undefined;
  readonly user?: string | null | undefined;
  readonly feature?: string | null | undefined;
  readonly project?: string | null | undefined;
  /** The model id the client asked for. */
  readonly model: string;
  /**
   * The call's worst-case cost in pico-USD if served by `model` (worst-case.ts), null when the model has no price.
   * Called for the requested model, and for the downgrade target only when downgrading.
   */
  readonly worstCase: (model: string) => bigint | null;
  /** Worst-case tokens (input bound + output limit), reserved against TPM limits. */
  readonly tokensEstimate: number;
  /** Epoch ms; defaults to the governor's clock. */
  readonly now?: number | undefined;
}

/** Proof of admission; pass it to `settle` or `release` exactly once (more is harmless). */
export interface Ticket {
  readonly id: string;
}

/** An admitted call. */
export interface Admission {
  readonly ok: true;
  readonly ticket: Ticket;
  /** Call this model instead of the requested one (a budget is past its soft limit). */
  readonly downgradeTo?: string;
  /** Add these to the response: budget warnings and remaining, rate-limit state, the downgrade. */
  readonly headers: Record<string, string>;
}

/** Spend already in the ledger (e.g. per hour and attribution), to seed the counters at start. */
export interface SpendEntry {
  /** Epoch ms the spend happened. */
  readonly at: number;
  readonly costPicos: bigint;
  readonly key?: string | null | undefined;
  readonly team?: string | null | undefined;
  readonly user?: string | null | undefined;
  readonly feature?: string | null | undefined;
  readonly project?: string | null | undefined;
  readonly model?: string | null | undefined;
}

/** Budgets, limits and model policy for the gateway (see this file's header for the guarantees). */
export interface Governor {
  /** Checks and reserves in one atomic store call; resolves to an admission or a refusal, never rejects on policy. */
  admit(req: AdmitRequest): Promise<Admission | Refusal>;
  /** Replaces the ticket's reservation by what was billed. False when the ticket was already settled or released. */
  settle(ticket: Ticket, actualCostPicos: bigint, actualTokens: number): Promise<boolean>;
  /** Drops the reservation of a call that billed nothing (refused upstream, failed before any token). */
  release(ticket: Ticket): Promise<boolean>;
  /**
   * Charges a call whose bill could not be read in full (a stream cut before its usage, an answer left unread) its
   * whole reservation, the most it can have cost, or what was read of its bill when that is more: releasing it
   * would make such a call free to the budgets (a client could cut every stream before its end).
   */
  keep(ticket: Ticket, billedPicos: bigint, billedTokens: number): Promise<boolean>;
  /** The call is still under way (a stream still sending): its reservation's expiry counts from now. */
  touch(ticket: Ticket): void;
  /** Adds ledger spend to the budgets it matches (spend outside a budget's current window is ignored); returns how many entries matched a budget. Call before serving. */
  load(entries: readonly SpendEntry[]): Promise<number>;
  /** Every budget and limit counter: limit, spent, reserved, remaining, period; plus open tickets. */
  status(now?: number): Promise<GovernorStatus>;
  /** Whether model policy lets `team` call `model` (budgets and limits aside). */
  allows(team: string | null | undefined, model: string): boolean;
}

/** What the governor needs besides configuration. */
export interface GovernorDeps {
  readonly clock: () => number;
  /** Defaults to the in-memory store (one process only). */
  readonly store?: CounterStore;
  /** Soft-limit crossings are logged once per counter and period; so are expired reservations. */
  readonly log?: Logger;
  /**
   * The gateway's upstream timeout (default 300 000 ms, `startGateway`'s): reservations expire after it plus
   * `EXPIRY_MARGIN_MS` unless `reservation.expireAfterMs` is set.
   */
  readonly upstreamTimeoutMs?: number;
}

/** The larger of two bigints (Math.max throws on them). */
const maxOf = (a: bigint, b: bigint): bigint => (a > b ? a : b);

/** What an open reservation is allowed beyond the upstream timeout before it is presumed lost. */
export const EXPIRY_MARGIN_MS = 60_000;
const DEFAULT_UPSTREAM_TIMEOUT_MS = 300_000;
/** Counter commits per store call when loading ledger spend (`load`). */
const LOAD_CHUNK = 500;
/** Expired tickets remembered for a late settlement; past this the oldest are forgotten. */
const MAX_EXPIRED = 10_000;

interface OpenTicket {
  readonly budgets: readonly Matched<BudgetRule>[];
  readonly tpm: readonly Matched<LimitRule>[];
  readonly cost: bigint;
  readonly tokens: bigint;
  readonly admittedAt: number;
  /** Admission or the last `touch`: what expiry counts from. */
  activeAt: number;
}

/** The budgets and limits a call counts against. */
interface Counters {
  readonly bs: readonly Matched<BudgetRule>[];
  readonly ls: readonly Matched<LimitRule>[];
}

/** One call being admitted: what it matched and what it holds; `model`, `cost` and counters change on downgrade. */
interface Call {
  /** The ticket id, also the id of the call's hold in the store. */
  readonly id: string;
  readonly requested: string;
  model: string;
  /** The downgrade target, when a rule matches and the team may call it. */
  readonly target: string | null;
  /**
   * The budgets and limits a call to the target counts against: the requested model's but for model-scoped rules,
   * which match the model that is called.
   */
  readonly targetCounters: Counters | null;
  readonly worstCase: (model: string) => bigint | null;
  /** The budgets and limits the call counts against (the target's, once downgraded). */
  bs: readonly Matched<BudgetRule>[];
  ls: readonly Matched<LimitRule>[];
  cost: bigint;
  readonly tokens: bigint;
  readonly now: number;
  /** The budget past its soft limit that sent the call to the target, when `reserve` did (for the header). */
  softBudget?: Matched<BudgetRule>;
}

/** Builds a governor from the validated `gateway:` configuration. */
export function createGovernor(config: GatewayConfig, deps: GovernorDeps): Governor {
  const store = deps.store ?? createMemoryCounterStore();
  const budgets = compileBudgets(config);
  const limits = compileLimits(config);
  const modelRefused = compileModelPolicy(config.models);
  const downgradeOf = compileDowngrades(config.downgrade);
  // Insertion order is activity order (admission, or the last touch): the least recently active tickets are first,
  // which is what expiry sweeps.
  const open = new Map<string, OpenTicket>();
  /** Tickets whose reservation expired, kept so a late settlement still charges the billed cost. */
  const expired = new Map<string, OpenTicket>();
  const expireAfterMs =
    config.reservation.expireAfterMs ??
    (deps.upstreamTimeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS) + EXPIRY_MARGIN_MS;
  let expiredTickets = 0;
  let lateSettlements = 0;
  const alerted = new Map<string, number>();
  let seq = 0;
  // Ticket ids are hold ids in a store shared by replicas: unique across processes (and governors), not just here.
  const idPrefix = randomUUID().slice(0, 8);

  /**
   * Counter keys by rule and scope suffix, made once: the same caller's calls get the same key string, which the
   * counter store then looks up without hashing it again.
   */
  const counterKeys = new Map<object, Map<string, string>>();
  const counterKey = (rule: { prefix: string }, suffix: string): string => {
    let keys = counterKeys.get(rule);
    if (keys === undefined) {
      keys = new Map();
      counterKeys.set(rule, keys);
    }
    let key = keys.get(suffix);
    if (key === undefined) {
      if (keys.size >= MEMO_MAX) keys.clear();
      key = rule.prefix + suffix;
      keys.set(suffix, key);
    }
    return key;
  };

  const matchAll = <R extends { prefix: string; scope: { match(v: ScopeValues): string | null } }>(
    rules: readonly R[],
    values: ScopeValues,
  ): Matched<R>[] => {
    const out: Matched<R>[] = [];
    for (const rule of rules) {
      const suffix = rule.scope.match(values);
      if (suffix !== null) out.push({ rule, key: counterKey(rule, suffix) });
    }
    return out;
  };

  const opsOf = (
    bs: readonly Matched<BudgetRule>[],
    ls: readonly Matched<LimitRule>[],
    cost: bigint,
    tokens: bigint,
    now: number,
  ): CounterOp[] => {
    const ops: CounterOp[] = [];
    for (const { rule, key } of bs) {
      const limit = rule.block ? rule.limit : null;
      ops.push({ key, window: rule.windowAt(now), limit, reserve: cost, spend: 0n });
    }
    for (const { rule, key } of ls) {
      const rpm = rule.kind === 'rpm';
      ops.push({
        key,
        window: LIMIT_WINDOW,
        limit: rule.max,
        reserve: rpm ? 0n : tokens,
        spend: rpm ? 1n : 0n,
      });
    }
    return ops;
  };

  const pastSoft = (rule: BudgetRule, level: CounterLevel) =>
    rule.soft !== null && level.spent + level.reserved >= rule.soft;

  /** Logs a soft-limit crossing once per counter and window. */
  const alert = (m: Matched<BudgetRule>, now: number): void => {
    if (deps.log === undefined) return;
    const w = m.rule.windowAt(now);
    const mark = w.kind === 'period' ? w.start : Math.floor(now / 86_400_000);
    if (alerted.get(m.key) === mark) return;
    alerted.set(m.key, mark);
    deps.log.warn('budget past its soft limit', { budget: labelOf(m.rule, m.key) });
  };

  /** The commits that drop what `t` holds (when `held`) and add what the call spent. */
  const commitsOf = (
    t: OpenTicket,
    held: boolean,
    spendPicos: bigint,
    spendTokens: bigint,
    now: number,
  ): CounterCommit[] => [
    ...t.budgets.map(({ rule, key }) => ({
      key,
      window: rule.windowAt(now),
      release: held ? t.cost : 0n,
      spend: spendPicos,
      at: now,
    })),
    ...t.tpm.map(({ key }) => ({
      key,
      window: LIMIT_WINDOW,
      release: held ? t.tokens : 0n,
      spend: spendTokens,
      at: now,
    })),
  ];

  const finish = (ticket: Ticket, spendPicos: bigint, spendTokens: bigint): Promise<boolean> => {
    const now = deps.clock();
    const t = open.get(ticket.id);
    let ops: CounterCommit[];
    if (t !== undefined) {
      open.delete(ticket.id);
      ops = commitsOf(t, true, spendPicos, spendTokens, now);
    } else {
      // A late settlement: the reservation was already released by expiry; the billed cost is still charged.
      const x = expired.get(ticket.id);
      if (x === undefined) return Promise.resolve(false);
      expired.delete(ticket.id);
      lateSettlements++;
      deps.log?.warn('call finished after its reservation expired', {
        ticket: ticket.id,
        ageMs: now - x.admittedAt,
        expireAfterMs,
      });
      if (spendPicos === 0n && spendTokens === 0n) return Promise.resolve(true);
      ops = commitsOf(x, false, spendPicos, spendTokens, now);
    }
    return ops.length === 0
      ? Promise.resolve(true)
      : store.commit(ops, now, ticket.id).then(() => true);
  };

  /** Whether the oldest open ticket has expired (checked on every admission, so it stays O(1)). */
  const expiryDue = (now: number): boolean => {
    const first = open.values().next();
    return first.done !== true && now - first.value.activeAt >= expireAfterMs;
  };

  /** Releases the reservations of tickets older than `expireAfterMs`, oldest first. */
  const expire = async (now: number): Promise<void> => {
    // One commit per ticket, each under its hold id: a hold the store already released is not released again.
    let commits: [string, CounterCommit[]][] | null = null;
    const ids: string[] = [];
    let oldest = now;
    for (const [id, t] of open) {
      if (now - t.activeAt < expireAfterMs) break;
      open.delete(id);
      if (expired.size >= MAX_EXPIRED) {
        const first = expired.keys().next().value;
        if (first !== undefined) expired.delete(first);
      }
      expired.set(id, t);
      ids.push(id);
      if (t.admittedAt < oldest) oldest = t.admittedAt;
      commits ??= [];
      commits.push([id, commitsOf(t, true, 0n, 0n, now)]);
    }
    if (commits === null) return;
    expiredTickets += ids.length;
    deps.log?.warn('reservations expired unsettled and were released', {
      tickets: ids.length,
      ids: ids.slice(0, 10),
      oldestAgeMs: now - oldest,
      expireAfterMs,
    });
    await Promise.all(
      commits.flatMap(([id, ops]) => (ops.length > 0 ? [store.commit(ops, now, id)] : [])),
    );
  };

  /** The level before the call of the op at `i`. */
  const levelAt = (levels: readonly CounterLevel[], i: number) => levels[i] as CounterLevel;

  /** The refusal for the op that did not fit. */
  const refusalOf = (call: Call, failed: number, level: CounterLevel, freesAt: number): Refusal => {
    const { bs, ls, now } = call;
    if (failed < bs.length) {
      const m = bs[failed] as Matched<BudgetRule>;
      return budgetRefusal(m, level, call.cost, m.rule.windowAt(now), freesAt, now);
    }
    const m = ls[failed - bs.length] as Matched<LimitRule>;
    return rateRefusal(m, level, m.rule.kind === 'rpm' ? 1n : call.tokens, freesAt, now);
  };

  /**
   * Reserves the call's worst case on every counter at once. Refused while one of its budgets is past its soft
   * limit, the call is tried once more at the downgrade target's (lower) worst case on the target's counters.
   * Returns the levels before the call.
   */
  const reserve = async (call: Call): Promise<readonly CounterLevel[] | Refusal> => {
    const { bs, ls, tokens, now } = call;
    // The store releases the call's hold by itself if nobody settles it in time (a crashed replica).
    const hold = { id: call.id, expiresAt: now + expireAfterMs };
    const outcome = await store.reserve(opsOf(bs, ls, call.cost, tokens, now), now, hold);
    if (outcome.ok) return outcome.levels;
    const { failed } = outcome;
    // Past a soft limit a call goes to the downgrade target anyway (`downgradeAdmitted`): refused at the requested
    // model, by whichever of its counters, it is tried at the target's, whose own budgets and limits then decide.
    const soft = bs.find((m, i) => pastSoft(m.rule, levelAt(outcome.levels, i)));
    if (call.target !== null && soft !== undefined) {
      const cheaper = call.worstCase(call.target);
      const to = call.targetCounters;
      if (cheaper !== null && cheaper < call.cost && to !== null) {
        // Checked against the target's own budgets and limits: a model-scoped budget of the target counts it.
        const retry = await store.reserve(opsOf(to.bs, to.ls, cheaper, tokens, now), now, hold);
        const downgrade = { model: call.target, cost: cheaper, bs: to.bs, ls: to.ls };
        if (!retry.ok) {
          const { failed: f, levels } = retry;
          return refusalOf({ ...call, ...downgrade }, f, levelAt(levels, f), retry.freesAt);
        }
        Object.assign(call, downgrade, { softBudget: soft });
        return retry.levels;
      }
    }
    return refusalOf(call, failed, levelAt(outcome.levels, failed), outcome.freesAt);
  };

  /**
   * Past a soft limit, switches an admitted call to the downgrade target when its worst case fits in what is
   * already reserved (a larger one would need a new check). The counters both models count against keep the
   * target's (lower) worst case held; those only the requested model counts against (a model-scoped budget or TPM
   * limit) are released; those only the target counts against are reserved now, with their limits checked, and
   * when one of them refuses the call stays on the requested model, admitted as it was. (A model-scoped RPM limit
   * of the requested model keeps the request counted: a request counted is not taken back.) Returns the levels
   * before the call of the counters it now counts against, in `bs`, `ls` order.
   */
  const downgradeAdmitted = async (
    call: Call,
    soft: Matched<BudgetRule> | null,
    levels: readonly CounterLevel[],
  ): Promise<readonly CounterLevel[]> => {
    const to = call.targetCounters;
    if (soft === null || call.target === null || to === null || call.model !== call.requested)
      return levels;
    const cheaper = call.worstCase(call.target);
    if (cheaper === null || cheaper > call.cost) return levels;
    const { now } = call;
    /** Each counter's level before the call, by key. */
    const before = new Map<string, CounterLevel>();
    const levelsOf = (ms: readonly { key: string }[], ls: readonly CounterLevel[]) => {
      ms.forEach((m, i) => {
        before.set(m.key, levelAt(ls, i));
      });
    };
    levelsOf([...call.bs, ...call.ls], levels);
    const added = {
      bs: to.bs.filter((m) => !before.has(m.key)),
      ls: to.ls.filter((m) => !before.has(m.key)),
    };
    if (added.bs.length + added.ls.length > 0) {
      const hold = { id: call.id, expiresAt: now + expireAfterMs };
      const outcome = await store.reserve(
        opsOf(added.bs, added.ls, cheaper, call.tokens, now),
        now,
        hold,
      );
      if (!outcome.ok) return levels;
      levelsOf([...added.bs, ...added.ls], outcome.levels);
    }
    const kept = new Set([...to.bs, ...to.ls].map((m) => m.key));
    const releases: CounterCommit[] = [];
    for (const { rule, key } of call.bs) {
      const release = kept.has(key) ? call.cost - cheaper : call.cost;
      if (release > 0n)
        releases.push({ key, window: rule.windowAt(now), release, spend: 0n, at: now });
    }
    for (const { rule, key } of call.ls)
      if (rule.kind === 'tpm' && !kept.has(key))
        releases.push({ key, window: LIMIT_WINDOW, release: call.tokens, spend: 0n, at: now });
    // Off the hold too: the rest stays held.
    if (releases.length > 0) await store.commit(releases, now, call.id);
    Object.assign(call, { model: call.target, cost: cheaper, bs: to.bs, ls: to.ls });
    return [...to.bs, ...to.ls].map((m) => before.get(m.key) as CounterLevel);
  };

  /** Opens the ticket and writes the response headers. */
  const admission = (
    call: Call,
    levels: readonly CounterLevel[],
    soft: Matched<BudgetRule> | null,
  ): Admission => {
    const { bs, ls, id } = call;
    const tpm = ls.filter((m) => m.rule.kind === 'tpm');
    open.set(id, {
      budgets: bs,
      tpm,
      cost: call.cost,
      tokens: call.tokens,
      admittedAt: call.now,
      activeAt: call.now,
    });
    const headers: Record<string, string> = {};
    if (bs.length > 0) budgetHeaders(headers, bs, levels, call.cost);
    if (ls.length > 0) rateHeaders(headers, ls, levels.slice(bs.length), call.tokens);
    if (call.model === call.requested) return { ok: true, ticket: { id }, headers };
    headers['x-tokenledger-downgraded'] = `${call.requested} -> ${call.model}`;
    const why = soft ?? call.softBudget ?? null;
    if (why !== null) {
      headers['x-tokenledger-downgrade-reason'] =
        `budget ${labelOf(why.rule, why.key)} past its soft limit`;
    }
    return { ok: true, ticket: { id }, downgradeTo: call.model, headers };
  };

  return {
    async admit(req) {
      const now = req.now ?? deps.clock();
      if (expiryDue(now)) await expire(now);
      const values = scopeValues(req);
      const refused = modelRefused(values.team, req.model);
      if (refused !== null) {
        const code =
          refused.reason === 'denied' ? 'gateway.model_denied' : 'gateway.model_not_allowed';
        const who = refused.entry === '*' ? 'every team' : `team ${refused.entry}`;
        return modelRefusal(code, req.model, who);
      }
      const bs = matchAll(budgets, values);
      const cost = req.worstCase(req.model);
      if (cost === null) {
        const blocking = bs.find((m) => m.rule.block);
        if (blocking !== undefined) {
          return modelRefusal(
            'gateway.unpriced_model',
            req.model,
            labelOf(blocking.rule, blocking.key),
          );
        }
      }
      const downgrade = downgradeOf(req.model);
      const target =
        downgrade !== null && modelRefused(values.team, downgrade.to) === null
          ? downgrade.to
          : null;
      const targetValues = target === null ? null : { ...values, model: target };
      const call: Call = {
        id: `${idPrefix}-t${(++seq).toString(36)}`,
        requested: req.model,
        model: req.model,
        target,
        targetCounters:
          targetValues === null
            ? null
            : { bs: matchAll(budgets, targetValues), ls: matchAll(limits, targetValues) },
        worstCase: req.worstCase,
        bs,
        ls: matchAll(limits, values),
        cost: cost ?? 0n,
        tokens: BigInt(Math.max(0, Math.ceil(req.tokensEstimate))),
        now,
      };
      const levels = await reserve(call);
      if (!Array.isArray(levels)) return levels as Refusal;
      let soft: Matched<BudgetRule> | null = null;
      call.bs.forEach((m, i) => {
        if (pastSoft(m.rule, levelAt(levels, i))) {
          soft ??= m;
          alert(m, now);
        }
      });
      return admission(call, await downgradeAdmitted(call, soft, levels), soft);
    },

    settle(ticket, actualCostPicos, actualTokens) {
      // Checked before the ticket is consumed, so a bad call leaves the reservation in place.
      if (actualCostPicos < 0n)
        return Promise.reject(new RangeError(`negative cost ${actualCostPicos}`));
      if (!Number.isFinite(actualTokens) || actualTokens < 0) {
        return Promise.reject(new RangeError(`not a token count: ${actualTokens}`));
      }
      return finish(ticket, actualCostPicos, BigInt(Math.ceil(actualTokens)));
    },

    release(ticket) {
      return finish(ticket, 0n, 0n);
    },

    keep(ticket, billedPicos, billedTokens) {
      const t = open.get(ticket.id) ?? expired.get(ticket.id);
      if (t === undefined) return Promise.resolve(false);
      const tokens = BigInt(Math.ceil(Math.max(0, billedTokens)));
      return finish(ticket, maxOf(billedPicos, t.cost), maxOf(tokens, t.tokens));
    },

    touch(ticket) {
      const t = open.get(ticket.id);
      if (t === undefined) return;
      // To the end of the admission-ordered map: it stays ordered by last activity, which expiry sweeps.
      open.delete(ticket.id);
      t.activeAt = deps.clock();
      open.set(ticket.id, t);
      // The store's hold too (fire and forget: if it fails, the local expiry still counts from now).
      store.touch(ticket.id, t.activeAt + expireAfterMs).catch(() => {});
    },

    async load(entries) {
      const now = deps.clock();
      const ops = [];
      let matched = 0;
      for (const e of entries) {
        const ms = matchAll(budgets, scopeValues(e));
        if (ms.length > 0) matched++;
        for (const { rule, key } of ms) {
          ops.push({ key, window: rule.windowAt(now), release: 0n, spend: e.costPicos, at: e.at });
        }
      }
      // In pieces: a ledger's spend is one entry per hour × attribution × budget, tens of thousands of them, and a
      // shared store takes each commit as one script call (one argument list).
      for (let i = 0; i < ops.length; i += LOAD_CHUNK)
        await store.commit(ops.slice(i, i + LOAD_CHUNK), now);
      return matched;
    },

    allows: (team, model) => modelRefused(team ?? UNALLOCATED, model) === null,

    async status(now) {
      const at = now ?? deps.clock();
      await expire(at);
      let oldest: number | null = null;
      for (const t of open.values())
        if (oldest === null || t.admittedAt < oldest) oldest = t.admittedAt;
      return statusOf(store, budgets, limits, at, {
        openTickets: open.size,
        oldestTicketAgeMs: oldest === null ? null : at - oldest,
        expiredTickets,
        lateSettlements,
        expireAfterMs,
      });
    },
  };
}
