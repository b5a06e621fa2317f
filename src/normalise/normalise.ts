/**
 * The normalise stage: RawUsage → UsageRecord. Canonical model + scope (cached per raw id: a log has few distinct
 * ids and millions of records), and the flags that say what is not known.
 */
import type { Flag, ModelRef, RawUsage, UsageRecord } from '../core/index.ts';
import { isUnresolved, normaliseModelId, type ProfileResolver } from './model-id.ts';

export interface Normaliser {
  normalise(raw: RawUsage): UsageRecord;
  /** The (cached) canonical reference for a raw model id. */
  modelRef(modelId: string): ModelRef;
}

export function createNormaliser(resolveProfile: ProfileResolver): Normaliser {
  const models = new Map<string, ModelRef>();
  const flagSets = new Map<string, readonly Flag[]>();
  const flagsFor = (unresolved: boolean, ttlUnknown: boolean): readonly Flag[] => {
    const key = `${unresolved ? 1 : 0}${ttlUnknown ? 1 : 0}`;
    let flags = flagSets.get(key);
    if (flags === undefined) {
      const list: Flag[] = [];
      if (unresolved) list.push('profile_unresolved');
      if (ttlUnknown) list.push('cache_ttl_unknown');
      flags = list;
      flagSets.set(key, flags);
    }
    return flags;
  };
  const modelRef = (modelId: string): ModelRef => {
    let model = models.get(modelId);
    if (model === undefined) {
      model = normaliseModelId(modelId, resolveProfile);
      models.set(modelId, model);
    }
    return model;
  };
  return {
    modelRef,
    normalise(raw) {
      const model = modelRef(raw.modelId);
      return { ...raw, model, flags: flagsFor(isUnresolved(model), !raw.cacheTtlKnown) };
    },
  };
}
