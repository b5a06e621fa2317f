/**
 * Who calls Bedrock, how often, with which models and operations, and how their requests are shaped. Each
 * workload is one caller population (an application's task role, a set of IAM users, the developers of one
 * Region) with a share of the organisation's daily requests.
 */
import type { AccountKey, ModelKey, RegionName, Via } from './organisation.ts';
import type { Developer } from './people.ts';

export type Operation =
  | 'Converse'
  | 'ConverseStream'
  | 'InvokeModel'
  | 'InvokeModelWithResponseStream';
export const OPERATIONS: readonly Operation[] = [
  'Converse',
  'ConverseStream',
  'InvokeModel',
  'InvokeModelWithResponseStream',
];

/** office: local working hours on weekdays; customer: all week, daytime-heavy; nightly: 02:00 UTC; ci: office-ish with a floor. */
export type Rhythm = 'office' | 'customer' | 'nightly' | 'ci';

export type ShapeKey =
  | 'embed'
  | 'classify'
  | 'rag'
  | 'chat'
  | 'generate'
  | 'extract'
  | 'summarise'
  | 'agent'
  | 'agent-small'
  | 'batch'
  | 'eval';

export interface ModelChoice {
  readonly model: ModelKey;
  readonly via: Via;
  readonly weight: number;
  readonly ops: Partial<Record<Operation, number>>;
  /** Overrides the workload's shape for this model (Claude Code's quick Haiku calls). */
  readonly shape?: ShapeKey;
}

export type Caller =
  | { readonly kind: 'task-role'; readonly role: string }
  | { readonly kind: 'lambda-role'; readonly role: string }
  | { readonly kind: 'batch-role'; readonly role: string }
  | { readonly kind: 'iam-users'; readonly names: readonly string[] }
  | { readonly kind: 'developers'; readonly people: readonly Developer[] };

export interface Tagging {
  /** Share of requests that carry requestMetadata at all. */
  readonly rate: number;
  readonly tags: Readonly<Record<string, string>>;
  readonly features: readonly string[];
  readonly session?: boolean;
  readonly users?: readonly string[];
}

export interface Workload {
  readonly name: string;
  readonly account: AccountKey;
  readonly region: RegionName;
  readonly caller: Caller;
  /** Relative share of the organisation's requests (normalised over all workloads). */
  readonly share: number;
  readonly rhythm: Rhythm;
  readonly shape: ShapeKey;
  readonly models: readonly ModelChoice[];
  readonly tagging: Tagging | null;
  /** Writes records the way older SDK paths did: no cache fields at all. */
  readonly legacy?: boolean;
  /** Which spike, if any, this workload takes part in. */
  readonly spike?: 'incident' | 'hackathon';
}

const IMWRS = { InvokeModelWithResponseStream: 1 } as const;
const CLAUDE_CODE_MODELS: Readonly<Record<'us' | 'eu' | 'apac', readonly ModelChoice[]>> = {
  us: [
    { model: 'sonnet-4.5', via: 'global', weight: 30, ops: IMWRS },
    { model: 'sonnet-4.6', via: 'global-arn', weight: 20, ops: IMWRS },
    { model: 'sonnet-4.5', via: 'us-arn', weight: 10, ops: IMWRS },
    { model: 'opus-4.6', via: 'global-arn', weight: 12, ops: IMWRS },
    { model: 'opus-4.7', via: 'us', weight: 8, ops: IMWRS },
    { model: 'haiku-4.5', via: 'us', weight: 20, ops: IMWRS, shape: 'agent-small' },
  ],
  eu: [
    { model: 'sonnet-4.5', via: 'eu', weight: 30, ops: IMWRS },
    { model: 'sonnet-4.6', via: 'global', weight: 25, ops: IMWRS },
    { model: 'opus-4.6', via: 'eu-arn', weight: 15, ops: IMWRS },
    { model: 'haiku-4.5', via: 'eu', weight: 20, ops: IMWRS, shape: 'agent-small' },
  ],
  apac: [
    { model: 'sonnet-4.6', via: 'global', weight: 45, ops: IMWRS },
    { model: 'opus-4.7', via: 'global-arn', weight: 20, ops: IMWRS },
    { model: 'haiku-4.5', via: 'global', weight: 25, ops: IMWRS, shape: 'agent-small' },
  ],
};

/** Share of all requests that come from Claude Code. */
const CLAUDE_CODE_SHARE = 0.38;

/** One Claude Code workload per Region the developers sit in, sized by their summed activity. */
export function claudeCodeWorkloads(people: readonly Developer[]): Workload[] {
  const total = people.reduce((sum, d) => sum + d.activity, 0);
  const regions = [...new Set(people.map((d) => d.region))].sort();
  return regions.map((region) => {
    const here = people.filter((d) => d.region === region);
    const activity = here.reduce((sum, d) => sum + d.activity, 0);
    const geo = region.startsWith('eu-') ? 'eu' : region.startsWith('ap-') ? 'apac' : 'us';
    return {
      name: `claude-code-${region}`,
      account: 'sandbox',
      region,
      caller: { kind: 'developers', people: here },
      share: (CLAUDE_CODE_SHARE * activity) / total,
      rhythm: 'office',
      shape: 'agent',
      models: CLAUDE_CODE_MODELS[geo],
      tagging: null,
      spike: 'hackathon',
    } satisfies Workload;
  });
}
