/**
 * The attribute stage: each dimension is resolved by an ordered chain, first match wins, and the winner is recorded
 * (architecture §4): explicit request metadata → identity rules → user from the identity ARN → application
 * inference profile tags → `unallocated`. Identity work is cached per ARN; a log has few identities.
 */
import {
  type AttributedRecord,
  type Attribution,
  DIMENSIONS,
  type Dimension,
  type PricedRecord,
  UNALLOCATED,
  type UsageRecord,
} from '../core/index.ts';
import type { AttributionConfig, IdentityMatch } from './config.ts';
import { type IdentityParts, parseIdentityArn } from './identity.ts';

type Partial_ = {
  values: Partial<Record<Dimension, string>>;
  rules: Partial<Record<Dimension, string>>;
};

export interface Attributor {
  /** Every request-metadata key the chain reads, in a stable order. */
  readonly metadataKeys: readonly string[];
  resolve(record: UsageRecord): Attribution;
  attribute(record: PricedRecord): AttributedRecord;
}

function defaultKeys(dim: Dimension): string[] {
  const camel = dim.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  const pascal = camel.charAt(0).toUpperCase() + camel.slice(1);
  return [...new Set([dim, camel, pascal, dim.replaceAll('_', '-')])];
}

export function createAttributor(config: AttributionConfig): Attributor {
  const keys = DIMENSIONS.map(
    (dim) => [dim, [...defaultKeys(dim), ...(config.metadataKeys[dim] ?? [])]] as const,
  );
  const rules = config.rules.map((rule, i) => ({
    label: `rule:${rule.name ?? i + 1}`,
    match: compileMatch(rule.match),
    set: Object.entries(rule.set) as [Dimension, string][],
  }));
  const byIdentity = new Map<string, Partial_>();
  const ruleSets = new Map<string, Readonly<Partial<Record<Dimension, string>>>>();

  const fromIdentity = (arn: string | null): Partial_ => {
    const key = arn ?? '';
    let found = byIdentity.get(key);
    if (found !== undefined) return found;
    found = { values: {}, rules: {} };
    const id = parseIdentityArn(key);
    for (const rule of rules) {
      const groups = rule.match(id);
      if (groups === null) continue;
      for (const [dim, template] of rule.set) {
        if (found.values[dim] !== undefined) continue;
        found.values[dim] = expand(template, groups);
        found.rules[dim] = rule.label;
      }
    }
    if (config.userFromIdentity && found.values.user === undefined) {
      if (id.sessionName) {
        found.values.user = id.sessionName;
        found.rules.user = 'identity.session-name';
      } else if (id.userName) {
        found.values.user = id.userName;
        found.rules.user = 'identity.iam-user';
      }
    }
    byIdentity.set(key, found);
    return found;
  };

  const resolve = (record: UsageRecord): Attribution => {
    const identity = fromIdentity(record.identityArn);
    const md = record.requestMetadata;
    const tags = record.model.profileTags;
    const values = {} as Record<Dimension, string>;
    const winners: Partial<Record<Dimension, string>> = {};
    let signature = '';
    for (const [dim, names] of keys) {
      let value: string | undefined;
      let rule: string | undefined;
      for (const name of names) {
        const v = md[name];
        if (v !== undefined && v !== '') {
          value = v;
          rule = `requestMetadata.${name}`;
          break;
        }
      }
      if (value === undefined && identity.values[dim] !== undefined) {
        value = identity.values[dim];
        rule = identity.rules[dim];
      }
      if (value === undefined) {
        const tag = tags[dim];
        if (tag !== undefined && tag !== '') {
          value = tag;
          rule = `profile.tags.${dim}`;
        }
      }
      values[dim] = value ?? UNALLOCATED;
      if (rule !== undefined) {
        winners[dim] = rule;
        signature += `${dim}=${rule};`;
      }
    }
    // Few distinct rule sets exist; sharing them lets the store encode each once.
    let rules = ruleSets.get(signature);
    if (rules === undefined) {
      rules = winners;
      ruleSets.set(signature, rules);
    }
    return { values, rules };
  };

  return {
    metadataKeys: [...new Set(keys.flatMap(([, names]) => names))],
    resolve,
    attribute: (record) => ({ ...record, attribution: resolve(record) }),
  };
}

type Matcher = (id: IdentityParts) => RegExpExecArray | null;

function compileMatch(match: IdentityMatch): Matcher {
  const tests = (Object.entries(match) as [keyof IdentityMatch, string | undefined][])
    .filter((e): e is [keyof IdentityMatch, string] => e[1] !== undefined)
    .map(([field, source]) => [field, new RegExp(source)] as const);
  return (id) => {
    let last: RegExpExecArray | null = null;
    for (const [field, re] of tests) {
      last = re.exec(id[field]);
      if (last === null) return null;
    }
    return last;
  };
}

function expand(template: string, groups: RegExpExecArray): string {
  return template.replace(/\$(\d+|<(\w+)>)/g, (whole, index: string, name: string | undefined) => {
    const v = name !== undefined ? groups.groups?.[name] : groups[Number(index)];
    return v ?? whole;
  });
}
