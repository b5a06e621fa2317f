/**
 * Turns whatever a caller passed as `modelId` into the canonical foundation-model id (the price key) plus the
 * inference profile and scope (bedrock.md §4.2). Forms: bare id, geo/global system-profile id, foundation-model
 * ARN, inference-profile ARN, application-inference-profile ARN (resolved through configuration).
 */
import type { ModelRef } from '../core/index.ts';

/** Geo prefixes of system inference profiles; `global` is its own scope. */
export const GEO_PREFIXES: ReadonlySet<string> = new Set([
  'us',
  'eu',
  'apac',
  'jp',
  'au',
  'us-gov',
  'ca',
  'in',
  'global',
]);

export interface ApplicationProfile {
  /** The model or system profile the application profile was copied from (any form but another AIP). */
  readonly model: string;
  readonly tags: Readonly<Record<string, string>>;
}

export type ProfileResolver = (arn: string) => ApplicationProfile | undefined;

const ARN = /^arn:aws[a-z-]*:bedrock:([a-z0-9-]*):(\d*):([a-z-]+)\/(.+)$/;

/**
 * Returns the model reference, or null when the id names something that is not priced per token by model
 * (a provisioned model, a custom model, an unconfigured application profile); the caller flags it.
 */
export function normaliseModelId(raw: string, resolveProfile: ProfileResolver): ModelRef {
  const arn = ARN.exec(raw);
  if (arn === null) return fromProfileOrBare(raw, raw, 'bare');
  const [, , , resource = '', id = ''] = arn;
  switch (resource) {
    case 'foundation-model':
      return {
        raw,
        base: id,
        profile: null,
        scope: 'in-region',
        geo: null,
        form: 'foundation-model-arn',
        profileTags: {},
      };
    case 'inference-profile':
      return fromProfileOrBare(raw, id, 'inference-profile-arn');
    case 'application-inference-profile': {
      const aip = resolveProfile(raw);
      if (aip === undefined || ARN.exec(aip.model)?.[3] === 'application-inference-profile') {
        return {
          raw,
          base: raw,
          profile: raw,
          scope: 'in-region',
          geo: null,
          form: 'application-profile-arn',
          profileTags: {},
        };
      }
      const inner = normaliseModelId(aip.model, resolveProfile);
      return {
        ...inner,
        raw,
        profile: raw,
        form: 'application-profile-arn',
        profileTags: aip.tags,
      };
    }
    default:
      // provisioned-model, custom-model, imported-model, prompt routers: not priced per token by model id.
      return {
        raw,
        base: raw,
        profile: null,
        scope: 'in-region',
        geo: null,
        form: 'bare',
        profileTags: {},
      };
  }
}

function fromProfileOrBare(
  raw: string,
  id: string,
  form: 'bare' | 'inference-profile-arn',
): ModelRef {
  const dot = id.indexOf('.');
  const prefix = dot > 0 ? id.slice(0, dot) : '';
  if (GEO_PREFIXES.has(prefix) && id.indexOf('.', dot + 1) > 0) {
    const isGlobal = prefix === 'global';
    return {
      raw,
      base: id.slice(dot + 1),
      profile: id,
      scope: isGlobal ? 'global' : 'geo',
      geo: isGlobal ? null : prefix,
      form: form === 'bare' ? 'profile-id' : form,
      profileTags: {},
    };
  }
  return { raw, base: id, profile: null, scope: 'in-region', geo: null, form, profileTags: {} };
}

/** True when normalisation could not find a foundation model behind the id. */
export function isUnresolved(ref: ModelRef): boolean {
  return ref.base.startsWith('arn:');
}
