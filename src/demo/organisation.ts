/**
 * The fictional organisation behind the demo logs: accounts, Regions, teams, models and the one application
 * inference profile. Plain data; the workloads that use it are in workloads.ts and the people in people.ts.
 */

export const ACCOUNTS = {
  /** Customer-facing applications, the nightly ETL and the application inference profile. */
  prod: '111122223333',
  /** Staging deployments and CI evaluation runs; mapped to the platform team by an account rule. */
  ci: '444455556666',
  /** Data-science notebooks and the Claude Code developers. */
  sandbox: '777788889999',
} as const;
export type AccountKey = keyof typeof ACCOUNTS;
/** The organisation's management account: it pays the bill (`bill_payer_account_id`) and uses no Bedrock itself. */
export const PAYER_ACCOUNT = '210987654321';

/** One S3 bucket stands in for every account's log bucket and the CUR export's; it appears only in paths. */
export const DEMO_BUCKET = 'acme-bedrock-invocation-logs';
export const EMAIL_DOMAIN = 'example.com';

export type Geo = 'us' | 'eu' | 'apac';
export interface RegionInfo {
  /** Fixed UTC offset of the people and customers served from this Region (no DST: it is a demo). */
  readonly utcOffset: number;
  readonly geo: Geo;
}
export const REGIONS = {
  'us-east-1': { utcOffset: -5, geo: 'us' },
  'us-west-2': { utcOffset: -8, geo: 'us' },
  'eu-west-1': { utcOffset: 0, geo: 'eu' },
  'ap-northeast-1': { utcOffset: 9, geo: 'apac' },
  /** Billed and in CloudWatch, but invocation logging was never turned on here (discrepancies.ts). */
  'eu-central-1': { utcOffset: 1, geo: 'eu' },
} as const satisfies Record<string, RegionInfo>;
export type RegionName = keyof typeof REGIONS;

/** Where a cross-Region profile may route a call (`inferenceRegion`). */
export const ROUTING: Readonly<Record<Geo | 'global', readonly string[]>> = {
  us: ['us-east-1', 'us-east-2', 'us-west-2'],
  eu: ['eu-west-1', 'eu-central-1', 'eu-west-3', 'eu-north-1'],
  apac: ['ap-northeast-1', 'ap-northeast-3', 'ap-southeast-1', 'ap-southeast-2'],
  global: [
    'us-east-1',
    'us-east-2',
    'us-west-2',
    'eu-west-1',
    'eu-central-1',
    'eu-north-1',
    'ap-northeast-1',
    'ap-southeast-2',
    'ap-southeast-4',
    'ca-central-1',
  ],
};

export const TEAMS = [
  'platform',
  'search',
  'support-bot',
  'data-science',
  'growth',
  'mobile',
  'security',
  'finance-ai',
  'legal-ops',
] as const;
export type Team = (typeof TEAMS)[number];

/** How the body of a model is shaped; decides which operations and body builders apply. */
export type Family = 'anthropic' | 'nova' | 'llama' | 'chat' | 'titan-embed' | 'cohere-embed';

export interface ModelSpec {
  /** The foundation-model id, the price key. */
  readonly id: string;
  readonly family: Family;
  /** Whether the model reports prompt-cache reads and writes. */
  readonly cache: boolean;
  /** Rough decode speed, for plausible latencies. */
  readonly msPerToken: number;
}

export const MODELS = {
  'sonnet-4.5': {
    id: 'anthropic.claude-sonnet-4-5-20250929-v1:0',
    family: 'anthropic',
    cache: true,
    msPerToken: 14,
  },
  'sonnet-4.6': {
    id: 'anthropic.claude-sonnet-4-6',
    family: 'anthropic',
    cache: true,
    msPerToken: 13,
  },
  'haiku-4.5': {
    id: 'anthropic.claude-haiku-4-5-20251001-v1:0',
    family: 'anthropic',
    cache: true,
    msPerToken: 6,
  },
  'opus-4.6': {
    id: 'anthropic.claude-opus-4-6-v1',
    family: 'anthropic',
    cache: true,
    msPerToken: 24,
  },
  'opus-4.7': { id: 'anthropic.claude-opus-4-7', family: 'anthropic', cache: true, msPerToken: 22 },
  'sonnet-4': {
    id: 'anthropic.claude-sonnet-4-20250514-v1:0',
    family: 'anthropic',
    cache: true,
    msPerToken: 15,
  },
  'haiku-3.5': {
    id: 'anthropic.claude-3-5-haiku-20241022-v1:0',
    family: 'anthropic',
    cache: false,
    msPerToken: 8,
  },
  'nova-micro': { id: 'amazon.nova-micro-v1:0', family: 'nova', cache: false, msPerToken: 3 },
  'nova-lite': { id: 'amazon.nova-lite-v1:0', family: 'nova', cache: false, msPerToken: 4 },
  'nova-pro': { id: 'amazon.nova-pro-v1:0', family: 'nova', cache: false, msPerToken: 9 },
  'llama-3.3-70b': {
    id: 'meta.llama3-3-70b-instruct-v1:0',
    family: 'llama',
    cache: false,
    msPerToken: 12,
  },
  'mistral-large': {
    id: 'mistral.mistral-large-2402-v1:0',
    family: 'chat',
    cache: false,
    msPerToken: 16,
  },
  'gpt-oss-120b': { id: 'openai.gpt-oss-120b-1:0', family: 'chat', cache: false, msPerToken: 5 },
  'deepseek-r1': { id: 'deepseek.r1-v1:0', family: 'chat', cache: false, msPerToken: 18 },
  'titan-embed-v2': {
    id: 'amazon.titan-embed-text-v2:0',
    family: 'titan-embed',
    cache: false,
    msPerToken: 0,
  },
  'cohere-embed': {
    id: 'cohere.embed-english-v3',
    family: 'cohere-embed',
    cache: false,
    msPerToken: 0,
  },
  /** Deliberately absent from the price catalog: its usage must show up as unpriced. */
  'palmyra-x5': { id: 'writer.palmyra-x5-v1:0', family: 'chat', cache: false, msPerToken: 11 },
} as const satisfies Record<string, ModelSpec>;
export type ModelKey = keyof typeof MODELS;

/**
 * How a caller names the model in `modelId`: bare id, foundation-model ARN, system-profile id (`us.…`), system-
 * profile ARN, or the application inference profile.
 */
export type Via = 'bare' | 'fm-arn' | Geo | 'global' | `${Geo}-arn` | 'global-arn' | 'aip';

/** The one application inference profile: support-bot's helpdesk assistant, copied from the `us.` profile. */
export const APPLICATION_PROFILE = {
  account: ACCOUNTS.prod,
  region: 'us-east-1',
  id: 'h4x9q2m7t1ke',
  model: 'sonnet-4.5',
  copyFrom: 'us',
  tags: { team: 'support-bot', application: 'helpdesk-assistant' },
} as const;

export const APPLICATION_PROFILE_ARN = `arn:aws:bedrock:${APPLICATION_PROFILE.region}:${APPLICATION_PROFILE.account}:application-inference-profile/${APPLICATION_PROFILE.id}`;

/**
 * Account/Region pairs whose logging configuration has text delivery off: records keep their token counts but
 * carry no bodies, so cache writes there have no 5m/1h split.
 */
export const TEXT_DELIVERY_OFF: readonly string[] = [
  `${ACCOUNTS.ci}/us-east-1`,
  `${ACCOUNTS.ci}/us-west-2`,
  `${ACCOUNTS.prod}/eu-west-1`,
  `${ACCOUNTS.prod}/us-west-2`,
  `${ACCOUNTS.sandbox}/ap-northeast-1`,
];
