import {
  Attribution,
  type HeaderInput,
  headerAttributes,
  type SourcedValue,
  type TelemetryIdentity,
} from './attribution.ts';
import { CLAUDE_CODE_PREFIX, isClaudeCodeScope } from './claude-code.ts';
import type { CumulativeOutcome } from './cumulative.ts';
import type { InstrumentationScope, Span, TracesRequest } from './shape.ts';
import { Attrs, nanosToMs } from './values.ts';

export interface GenAiContext {
  /** The HTTP request's headers: identity headers are the last resort for identity and dimensions. */
  readonly headers?: HeaderInput;
}

/** Token counts as reported; null when the attribute is absent. */
export interface GenAiTokens {
  /** `gen_ai.usage.input_tokens` (or legacy `prompt_tokens`): see `inputIncludesCache`. */
  readonly input: number | null;
  readonly output: number | null;
  readonly cacheRead: number | null;
  readonly cacheCreation: number | null;
  /** Included in `output`. */
  readonly reasoning: number | null;
}

export interface GenAiUsageCommon {
  /** Epoch ms: the span's start, or the end of the metric interval. */
  readonly at: number;
  /** `gen_ai.response.model`, else `gen_ai.request.model`. */
  readonly model: string | null;
  readonly requestModel: string | null;
  readonly responseModel: string | null;
  /** `gen_ai.provider.name`, else the deprecated `gen_ai.system`, as sent. */
  readonly provider: string | null;
  readonly providerAttribute: 'gen_ai.provider.name' | 'gen_ai.system' | null;
  /** The provider is Amazon Bedrock (`aws.bedrock`, `aws_bedrock`, …, or a botocore Bedrock Runtime span). */
  readonly bedrock: boolean;
  readonly operation: string | null;
  readonly serviceName: string | null;
  /** The AWS account: a 12-digit `cloud.account.id`, span's or point's → resource's; null otherwise. */
  readonly awsAccount: string | null;
  readonly scopeName: string;
  readonly sessionId: string | null;
  readonly conversationId: string | null;
  readonly identity: TelemetryIdentity;
  readonly dimensions: Readonly<Record<string, SourcedValue>>;
  readonly issues: readonly string[];
}

export interface GenAiSpanUsage extends GenAiUsageCommon {
  readonly source: 'span';
  readonly traceId: string;
  readonly spanId: string;
  readonly spanName: string;
  readonly startTimeUnixNano: bigint;
  readonly endTimeUnixNano: bigint;
  readonly durationMs: number;
  /** `gen_ai.response.id` (e.g. the Anthropic message id). */
  readonly responseId: string | null;
  /** `aws.request_id` (botocore): Bedrock's x-amzn-RequestId, the invocation log's requestId. */
  readonly requestId: string | null;
  readonly tokens: GenAiTokens;
  /** Which attribute names carried the counts. */
  readonly naming: 'current' | 'legacy' | 'mixed';
  /** True with v1.40 cache attributes (input includes cache); null when the emitter's meaning is unknown. */
  readonly inputIncludesCache: boolean | null;
  /** Input without cache reads/writes when that can be told; null when it cannot. */
  readonly uncachedInputTokens: number | null;
  readonly finishReasons: readonly string[];
  /** `error.type`, else the status message of an ERROR status. */
  readonly error: string | null;
}

export interface GenAiMetricUsage extends GenAiUsageCommon {
  readonly source: 'metric';
  readonly metric: string;
  /** `gen_ai.token.type`: `input` | `output` (deprecated `completion` is read as output). */
  readonly tokenType: string | null;
  /** The histogram's sum increase: tokens of this type over the interval. */
  readonly tokenCount: number;
  /** The histogram's count increase: operations over the interval. */
  readonly operationCount: number;
  /** `tokenCount` placed by type (input or output), the rest null. */
  readonly tokens: GenAiTokens;
  readonly temporality: 'delta' | 'cumulative';
  readonly outcome: 'delta' | CumulativeOutcome;
  /**
   * Epoch ms: the start of the interval the increase covers — the previous point's time for a cumulative increase
   * (or reset), else the point's start time.
   */
  readonly from: number;
  readonly startTimeUnixNano: bigint;
  readonly timeUnixNano: bigint;
  readonly key: string;
  /**
   * Shared by the points of one interval of one stream whatever their token type (the input and output points of
   * the same calls): the stream apart from `gen_ai.token.type`, and the point's time — the collection's, which all
   * points of one export share. Not the start time: the SDKs start each series at its first measurement, so the
   * input and output series of the same calls start a moment apart.
   */
  readonly intervalKey: string;
}

export type GenAiUsage = GenAiSpanUsage | GenAiMetricUsage;

export interface GenAiTracesResult {
  readonly usages: readonly GenAiSpanUsage[];
  readonly counts: {
    readonly spans: number;
    /** Spans with `gen_ai.*` attributes but no token counts (e.g. embeddings without usage, tool spans). */
    readonly withoutUsage: number;
    /** Claude Code's own spans (`claude_code.*`), skipped: its events and metrics count the same requests. */
    readonly claudeCode: number;
    readonly notGenAi: number;
    /** Calls to a provider named as not Bedrock (`openai`, `anthropic`…): not Bedrock spend, left out. */
    readonly otherProvider: number;
  };
}

export interface GenAiMetricsResult {
  readonly usages: readonly GenAiMetricUsage[];
  readonly counts: {
    readonly points: number;
    readonly zero: number;
    readonly duplicate: number;
    readonly stale: number;
    readonly otherMetrics: number;
    /** Points of a provider named as not Bedrock: not Bedrock spend, left out. */
    readonly otherProvider: number;
  };
  readonly problems: readonly string[];
  /** Data points refused, for the exporter's partial success (a problem may refuse a metric's every point). */
  readonly rejected: number;
}

export const GENAI_TOKEN_USAGE_METRIC = 'gen_ai.client.token.usage';

const BEDROCK_PROVIDERS = new Set([
  'aws.bedrock',
  'aws_bedrock',
  'aws-bedrock',
  'amazon.bedrock',
  'amazon_bedrock',
  'amazon-bedrock',
  'bedrock',
]);

const CURRENT = {
  input: 'gen_ai.usage.input_tokens',
  output: 'gen_ai.usage.output_tokens',
  cacheRead: 'gen_ai.usage.cache_read.input_tokens',
  cacheCreation: 'gen_ai.usage.cache_creation.input_tokens',
  reasoning: 'gen_ai.usage.reasoning.output_tokens',
} as const;

const LEGACY = {
  input: 'gen_ai.usage.prompt_tokens',
  output: 'gen_ai.usage.completion_tokens',
  cacheRead: 'gen_ai.usage.cache_read_input_tokens',
  cacheCreation: 'gen_ai.usage.cache_creation_input_tokens',
  reasoning: 'gen_ai.usage.reasoning_tokens',
} as const;

/** The fields every GenAI usage shares, read from one span's or point's attributes. */
export function genAiCommon(
  a: Attrs,
  attribution: Attribution,
  scope: InstrumentationScope,
): Omit<GenAiUsageCommon, 'at' | 'issues'> {
  const requestModel = a.str('gen_ai.request.model');
  const responseModel = a.str('gen_ai.response.model');
  const providerName = a.str('gen_ai.provider.name');
  const system = providerName === null ? a.str('gen_ai.system') : null;
  const provider = providerName ?? system;
  const rpcService = a.str('rpc.service');
  const res = attribution.resourceAttrs;
  return {
    model: responseModel ?? requestModel,
    requestModel,
    responseModel,
    provider,
    providerAttribute:
      providerName !== null ? 'gen_ai.provider.name' : system !== null ? 'gen_ai.system' : null,
    bedrock:
      (provider !== null && BEDROCK_PROVIDERS.has(provider.toLowerCase())) ||
      (rpcService !== null && /bedrock/i.test(rpcService)),
    operation: a.str('gen_ai.operation.name'),
    serviceName: res.str('service.name'),
    awsAccount: attribution.awsAccount(a),
    scopeName: scope.name,
    sessionId: a.str('session.id') ?? res.str('session.id'),
    conversationId: a.str('gen_ai.conversation.id'),
    identity: attribution.identity(a),
    dimensions: attribution.dimensions(a),
  };
}

function tokensOf(a: Attrs): { tokens: GenAiTokens; current: boolean; legacy: boolean } {
  const pick = (key: keyof GenAiTokens): [number | null, 'current' | 'legacy' | null] => {
    const c = a.countOrNull(CURRENT[key]);
    if (c !== null) return [c, 'current'];
    const l = a.countOrNull(LEGACY[key]);
    return [l, l === null ? null : 'legacy'];
  };
  const entries = (['input', 'output', 'cacheRead', 'cacheCreation', 'reasoning'] as const).map(
    (k) => [k, pick(k)] as const,
  );
  const tokens = Object.fromEntries(entries.map(([k, [v]]) => [k, v])) as unknown as GenAiTokens;
  return {
    tokens,
    current: entries.some(([, [, n]]) => n === 'current'),
    legacy: entries.some(([, [, n]]) => n === 'legacy'),
  };
}

function spanUsage(
  span: Span,
  scope: InstrumentationScope,
  attribution: Attribution,
): GenAiSpanUsage | null {
  const a = new Attrs(span.attributes);
  const { tokens, current, legacy } = tokensOf(a);
  if (!current && !legacy) return null;
  const cacheNaming =
    a.raw(CURRENT.cacheRead) !== undefined || a.raw(CURRENT.cacheCreation) !== undefined
      ? 'current'
      : a.raw(LEGACY.cacheRead) !== undefined || a.raw(LEGACY.cacheCreation) !== undefined
        ? 'legacy'
        : null;
  const inputIncludesCache = cacheNaming === 'current' ? true : null;
  const cached = (tokens.cacheRead ?? 0) + (tokens.cacheCreation ?? 0);
  let uncached: number | null = null;
  if (tokens.input !== null) {
    if (cacheNaming === null || cached === 0) uncached = tokens.input;
    else if (inputIncludesCache === true && tokens.input >= cached)
      uncached = tokens.input - cached;
  }
  const finish = a.raw('gen_ai.response.finish_reasons');
  const base = genAiCommon(a, attribution, scope);
  return {
    source: 'span',
    at: nanosToMs(span.startTimeUnixNano),
    ...base,
    traceId: span.traceId,
    spanId: span.spanId,
    spanName: span.name,
    startTimeUnixNano: span.startTimeUnixNano,
    endTimeUnixNano: span.endTimeUnixNano,
    durationMs: Number(span.endTimeUnixNano - span.startTimeUnixNano) / 1e6,
    responseId: a.str('gen_ai.response.id'),
    requestId: a.str('aws.request_id'),
    tokens,
    naming: current && legacy ? 'mixed' : current ? 'current' : 'legacy',
    inputIncludesCache,
    uncachedInputTokens: uncached,
    finishReasons:
      finish?.type === 'array'
        ? finish.values.flatMap((v) => (v.type === 'string' ? [v.value] : []))
        : finish?.type === 'string'
          ? [finish.value]
          : [],
    error: a.str('error.type') ?? (span.status.code === 2 ? span.status.message || 'error' : null),
    issues: a.issues,
  };
}

/**
 * A call its instrumentation says went to another provider (`gen_ai.provider.name` `openai`, `anthropic`…): an app
 * may call several, and only Bedrock's belong in this ledger. A call that names no provider is kept.
 */
export function notBedrock(u: {
  readonly provider: string | null;
  readonly bedrock: boolean;
}): boolean {
  return u.provider !== null && !u.bedrock;
}

/** Reads the GenAI usage spans of one decoded `/v1/traces` request. */
export function interpretGenAiTraces(
  request: TracesRequest,
  context: GenAiContext = {},
): GenAiTracesResult {
  const headers = headerAttributes(context.headers);
  const usages: GenAiSpanUsage[] = [];
  const counts = { spans: 0, withoutUsage: 0, claudeCode: 0, notGenAi: 0, otherProvider: 0 };
  for (const rs of request.resourceSpans) {
    const attribution = new Attribution(rs.resource.attributes, headers);
    for (const ss of rs.scopeSpans) {
      const claudeScope = isClaudeCodeScope(ss.scope);
      for (const span of ss.spans) {
        counts.spans++;
        if (claudeScope || span.name.startsWith(CLAUDE_CODE_PREFIX)) {
          counts.claudeCode++;
          continue;
        }
        const usage = spanUsage(span, ss.scope, attribution);
        if (usage !== null && notBedrock(usage)) counts.otherProvider++;
        else if (usage !== null) usages.push(usage);
        else if (span.attributes.some((kv) => kv.key.startsWith('gen_ai.'))) counts.withoutUsage++;
        else counts.notGenAi++;
      }
    }
  }
  return { usages, counts };
}
