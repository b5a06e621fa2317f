/**
 * Meters every invocation the generator produces the way AWS does, whether or not its log is written: the bill's
 * daily usage cells (CUR Usage rows before naming), CloudWatch's hourly series per ModelId, the account/Region log-
 * delivery counts, and the tallies behind each known discrepancy. Memory grows with the keys, not the records.
 * Rates come from the price catalog through the pipeline's own `rateCard`, so a bill row costs exactly what
 * tokenledger would compute for the same tokens at the same tier.
 */
import {
  AppError,
  type ModelRef,
  type Picos,
  parseUsdPerMillion,
  type Tier,
  type Tokens,
} from '../core/index.ts';
import type { Normaliser } from '../normalise/index.ts';
import {
  type Catalog,
  type RateCard,
  rateCard,
  TOKEN_CLASSES,
  type TokenClass,
} from '../price/index.ts';
import { BILLED_ONLY_RATES } from './discrepancies.ts';
import type { Invocation } from './plan.ts';
import { reportedTokens } from './record.ts';
import { DAY_MS, HOUR_MS } from './rhythm.ts';

/** Where a metered call shows up: in the logs, billed but its log file lost, or in a Region without logging. */
export type Category = 'logged' | 'missing' | 'unlogged';

/** What a price depends on: the model and scope, source Region, tier, account and day, and long context. */
export interface PriceKey {
  readonly dayMs: number;
  readonly account: string;
  readonly region: string;
  readonly model: ModelRef;
  readonly tier: Tier;
  readonly longContext: boolean;
}

/** One bill grain: a price key × operation × IAM principal × resource (the application profile), by token class. */
export interface UsageCell extends PriceKey {
  readonly streaming: boolean;
  readonly principal: string;
  /** The principal's `team` tag (`iamPrincipal/team`), when it has one. */
  readonly team: string | null;
  /** The application inference profile ARN the calls went through, else null. */
  readonly resource: string | null;
  /** Token counts in TOKEN_CLASSES order. */
  readonly tokens: number[];
}

/** Tokens and records of one price key that belong to a discrepancy. */
export interface Tally extends PriceKey {
  readonly tokens: number[];
  records: number;
}

/** CloudWatch `AWS/Bedrock` invocation metrics, in this order, per (account, Region, hour, ModelId). */
export const CW_METRICS = [
  'Invocations',
  'InputTokenCount',
  'OutputTokenCount',
  'CacheReadInputTokenCount',
  'CacheWriteInputTokenCount',
  'InvocationClientErrors',
  'InvocationServerErrors',
  'InvocationThrottles',
] as const;

export interface Series {
  readonly account: string;
  readonly region: string;
  readonly hourMs: number;
  readonly modelId: string;
  /** Sums in CW_METRICS order. */
  readonly values: number[];
}

/** Log records Bedrock delivered to S3 (or failed to) in one account/Region hour. */
export interface Delivery {
  readonly account: string;
  readonly region: string;
  readonly hourMs: number;
  success: number;
  failure: number;
}

const CLIENT_ERRORS = new Set(['ValidationException', 'ModelTimeoutException']);
const SERVER_ERRORS = new Set(['ServiceUnavailableException']);

export type Rates = Readonly<Record<TokenClass, Picos>>;

export class Meter {
  readonly usage = new Map<string, UsageCell>();
  readonly series = new Map<string, Series>();
  readonly delivery = new Map<string, Delivery>();
  readonly missing = new Map<string, Tally>();
  readonly unlogged = new Map<string, Tally>();
  /** 1h cache writes of logged records without bodies: the log cannot tell them from 5m writes. */
  readonly ttlHidden = new Map<string, Tally>();
  private readonly cards = new Map<string, RateCard>();

  constructor(
    private readonly catalog: Catalog,
    private readonly normaliser: Normaliser,
    private readonly teamOf: (principal: string) => string | null,
  ) {}

  modelRef(modelId: string): ModelRef {
    return this.normaliser.modelRef(modelId);
  }

  observe(inv: Invocation, category: Category, tier: Tier): void {
    const model = this.normaliser.modelRef(inv.modelId);
    const dayMs = Math.floor(inv.timestamp / DAY_MS) * DAY_MS;
    const t = reportedTokens(inv);
    const key = this.priceKey(dayMs, inv.accountId, inv.region, model, tier, t);
    const streaming = inv.operation.endsWith('Stream');
    const resource = model.form === 'application-profile-arn' ? model.profile : null;
    this.addUsage(key, streaming, inv.identityArn, resource, t);

    const hourMs = Math.floor(inv.timestamp / HOUR_MS) * HOUR_MS;
    const modelId = tier === 'priority' ? `${inv.modelId}+priority` : inv.modelId;
    const where = `${inv.accountId}|${inv.region}|${hourMs}`;
    const seriesKey = `${where}|${modelId}`;
    let s = this.series.get(seriesKey);
    if (s === undefined) {
      s = {
        account: inv.accountId,
        region: inv.region,
        hourMs,
        modelId,
        values: CW_METRICS.map(() => 0),
      };
      this.series.set(seriesKey, s);
    }
    const error = inv.errorCode;
    const v = s.values;
    if (error !== 'ThrottlingException') v[0] = (v[0] ?? 0) + 1;
    v[1] = (v[1] ?? 0) + t.input;
    v[2] = (v[2] ?? 0) + t.output;
    v[3] = (v[3] ?? 0) + t.cacheRead;
    v[4] = (v[4] ?? 0) + t.cacheWrite5m + t.cacheWrite1h;
    if (error !== null && CLIENT_ERRORS.has(error)) v[5] = (v[5] ?? 0) + 1;
    if (error !== null && SERVER_ERRORS.has(error)) v[6] = (v[6] ?? 0) + 1;
    if (error === 'ThrottlingException') v[7] = (v[7] ?? 0) + 1;

    if (category !== 'unlogged') {
      let d = this.delivery.get(where);
      if (d === undefined) {
        d = { account: inv.accountId, region: inv.region, hourMs, success: 0, failure: 0 };
        this.delivery.set(where, d);
      }
      if (category === 'logged') d.success++;
      else d.failure++;
    }
    if (category === 'missing') tally(this.missing, key, tokenArray(t));
    if (category === 'unlogged') tally(this.unlogged, key, tokenArray(t));
    if (category === 'logged' && !inv.textDelivery && t.cacheWrite1h > 0) {
      tally(this.ttlHidden, key, [0, 0, 0, t.cacheWrite1h, 0]);
    }
  }

  /** Usage that never reaches the invocation logs at all (a batch job): bill rows only. */
  addBilledOnly(
    dayMs: number,
    account: string,
    region: string,
    modelId: string,
    tier: Tier,
    principal: string,
    tokens: Tokens,
  ): PriceKey {
    const key = this.priceKey(dayMs, account, region, this.modelRef(modelId), tier, tokens);
    this.addUsage(key, false, principal, null, tokens);
    return key;
  }

  /** Pico-USD per token for each class at this key (a class without its own rate uses the input rate, as `quote`). */
  rates(key: PriceKey): Rates {
    const card = this.card(key.model, key.region, key.tier, key.dayMs, key.account);
    const set = key.longContext && card.longContextRates ? card.longContextRates : card.rates;
    if (set === null) {
      const billed = BILLED_ONLY_RATES[key.model.base];
      if (billed === undefined) {
        throw new AppError(
          'demo.unbillable',
          `demo: ${key.model.base} has neither a catalog price nor a billed-only rate`,
        );
      }
      const input = parseUsdPerMillion(billed.input);
      const output = parseUsdPerMillion(billed.output);
      return { input, output, cacheRead: input, cacheWrite5m: input, cacheWrite1h: input };
    }
    return {
      input: set.input,
      output: set.output ?? set.input,
      cacheRead: set.cacheRead ?? set.input,
      cacheWrite5m: set.cacheWrite5m ?? set.input,
      cacheWrite1h: set.cacheWrite1h ?? set.input,
    };
  }

  /** Whether the catalog prices the key's model at all (tokenledger leaves the others unpriced). */
  catalogued(key: PriceKey): boolean {
    return this.card(key.model, key.region, key.tier, key.dayMs, key.account).rates !== null;
  }

  /** The cost of `tokens` (TOKEN_CLASSES order) at the key's rates. */
  cost(key: PriceKey, tokens: readonly number[]): Picos {
    const rates = this.rates(key);
    let picos = 0n;
    TOKEN_CLASSES.forEach((c, i) => {
      picos += BigInt(tokens[i] ?? 0) * rates[c];
    });
    return picos;
  }

  private priceKey(
    dayMs: number,
    account: string,
    region: string,
    model: ModelRef,
    tier: Tier,
    t: Tokens,
  ): PriceKey {
    const card = this.card(model, region, tier, dayMs, account);
    const prompt = t.input + t.cacheRead + t.cacheWrite5m + t.cacheWrite1h;
    const threshold = card.longContextThreshold;
    const longContext = threshold !== null && card.longContextRates !== null && prompt > threshold;
    return { dayMs, account, region, model, tier, longContext };
  }

  private addUsage(
    key: PriceKey,
    streaming: boolean,
    principal: string,
    resource: string | null,
    t: Tokens,
  ): void {
    const id = `${keyId(key)}|${streaming ? 1 : 0}|${principal}|${resource ?? ''}`;
    let cell = this.usage.get(id);
    if (cell === undefined) {
      cell = {
        ...key,
        streaming,
        principal,
        team: this.teamOf(principal),
        resource,
        tokens: [0, 0, 0, 0, 0],
      };
      this.usage.set(id, cell);
    }
    add(cell.tokens, tokenArray(t));
  }

  private card(model: ModelRef, region: string, tier: Tier, dayMs: number, account: string) {
    const id = `${model.base}|${model.scope}|${region}|${tier}|${dayMs}|${account}`;
    let card = this.cards.get(id);
    if (card === undefined) {
      card = rateCard(model, region, tier, dayMs, this.catalog, account);
      this.cards.set(id, card);
    }
    return card;
  }
}

export function keyId(k: PriceKey): string {
  return `${k.dayMs}|${k.account}|${k.region}|${k.model.base}|${k.model.scope}|${k.tier}|${k.longContext ? 1 : 0}`;
}

export function tokenArray(t: Tokens): number[] {
  return TOKEN_CLASSES.map((c) => t[c]);
}

function add(into: number[], more: readonly number[]): void {
  for (let i = 0; i < more.length; i++) into[i] = (into[i] ?? 0) + (more[i] ?? 0);
}

function tally(map: Map<string, Tally>, key: PriceKey, tokens: readonly number[]): void {
  const id = keyId(key);
  let t = map.get(id);
  if (t === undefined) {
    t = { ...key, tokens: [0, 0, 0, 0, 0], records: 0 };
    map.set(id, t);
  }
  add(t.tokens, tokens);
  t.records++;
}
