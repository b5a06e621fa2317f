/**
 * The `modelId` a caller passes, in every form Bedrock accepts, and the Region a cross-Region call was served
 * from (`inferenceRegion`).
 */
import {
  APPLICATION_PROFILE,
  APPLICATION_PROFILE_ARN,
  type Geo,
  MODELS,
  type ModelKey,
  ROUTING,
  type Via,
} from './organisation.ts';
import type { Random } from './random.ts';

export function modelIdFor(model: ModelKey, via: Via, account: string, region: string): string {
  const id = MODELS[model].id;
  switch (via) {
    case 'bare':
      return id;
    case 'fm-arn':
      return `arn:aws:bedrock:${region}::foundation-model/${id}`;
    case 'aip':
      return APPLICATION_PROFILE_ARN;
    case 'us':
    case 'eu':
    case 'apac':
    case 'global':
      return `${via}.${id}`;
    default: {
      const geo = via.slice(0, -'-arn'.length);
      return `arn:aws:bedrock:${region}:${account}:inference-profile/${geo}.${id}`;
    }
  }
}

/** Null for in-Region calls; otherwise a Region of the profile's routing set. */
export function inferenceRegionFor(via: Via, region: string, rng: Random): string | null {
  const geo = routingOf(via);
  if (geo === null) return null;
  const candidates = ROUTING[geo];
  // Most calls stay in the source Region when it is in the set; the rest spill over.
  if (candidates.includes(region) && rng.chance(0.55)) return region;
  return rng.pick(candidates);
}

function routingOf(via: Via): Geo | 'global' | null {
  switch (via) {
    case 'bare':
    case 'fm-arn':
      return null;
    case 'aip':
      return APPLICATION_PROFILE.copyFrom;
    default:
      return via.replace(/-arn$/, '') as Geo | 'global';
  }
}
