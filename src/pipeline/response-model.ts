/**
 * Anthropic response-body model names (`claude-sonnet-4-5-20250929`, what Claude Code's `api_request` events carry)
 * → the Bedrock model they name, and a Normaliser that applies it first. Telemetry model names are normalised
 * through it wherever they are priced — by the OTLP sink when an event arrives and by `reprice` when its client-only
 * ledger row is priced again — so both see the same model.
 */
import type { Normaliser } from '../normalise/index.ts';
import type { Catalog } from '../price/index.ts';

/** A Bedrock Anthropic model id's version suffix (`-v1:0`, `-v1`, `-v2:0`). */
const VERSION_SUFFIX = /-v\d+(?::\d+)?$/;
/** A release date at the end of a model name (`-20250929`). */
const RELEASE_DATE = /-\d{8}$/;
/** Anthropic's own model names, as the Messages API response body has them: no vendor prefix, no version. */
const RESPONSE_BODY_NAME = /^claude-[a-z0-9-]+$/;

interface ModelIndex {
  /** `claude-sonnet-4-5-20250929` → the catalog ids it names (one: unambiguous). */
  readonly exact: ReadonlyMap<string, readonly string[]>;
  /** The same without a release date, for catalog ids that have none (`claude-opus-4-7`). */
  readonly undated: ReadonlyMap<string, readonly string[]>;
}

const indexes = new WeakMap<Catalog, ModelIndex>();

function modelIndex(catalog: Catalog): ModelIndex {
  const cached = indexes.get(catalog);
  if (cached !== undefined) return cached;
  const exact = new Map<string, string[]>();
  const undated = new Map<string, string[]>();
  const add = (m: Map<string, string[]>, key: string, id: string) => {
    const list = m.get(key) ?? [];
    if (!list.includes(id)) list.push(id);
    m.set(key, list);
  };
  for (const { entry } of catalog.entries) {
    for (const id of entry.models) {
      if (!id.startsWith('anthropic.')) continue;
      const name = id.slice('anthropic.'.length).replace(VERSION_SUFFIX, '');
      add(exact, name, id);
      add(undated, name.replace(RELEASE_DATE, ''), id);
    }
  }
  const index = { exact, undated };
  indexes.set(catalog, index);
  return index;
}

/**
 * The Bedrock foundation-model id of a response-body Anthropic model name (what Claude Code's `api_request` `model`
 * is for newer versions: `claude-sonnet-4-5-20250929` → `anthropic.claude-sonnet-4-5-20250929-v1:0`), when the
 * catalog's ids name exactly one model for it; null otherwise (a Bedrock id, a profile, an ARN, an unknown or
 * ambiguous name). A dated name also finds an undated catalog id of the same model (`claude-opus-4-7-20260416` →
 * `anthropic.claude-opus-4-7`), never a catalog id with another date: that is another release.
 */
export function bedrockModelIdOf(name: string, catalog: Catalog): string | null {
  if (!RESPONSE_BODY_NAME.test(name)) return null;
  const index = modelIndex(catalog);
  const exact = index.exact.get(name);
  if (exact !== undefined) return exact.length === 1 ? (exact[0] ?? null) : null;
  const stripped = name.replace(RELEASE_DATE, '');
  if (stripped === name) return null;
  const candidates = index.undated.get(stripped) ?? [];
  const [only] = candidates;
  return candidates.length === 1 &&
    only !== undefined &&
    !RELEASE_DATE.test(only.slice('anthropic.'.length).replace(VERSION_SUFFIX, ''))
    ? only
    : null;
}

/**
 * `normaliser` with response-body names read as the Bedrock model they name (`bedrockModelIdOf`); every other id
 * (Bedrock ids, profiles, ARNs, unknown or ambiguous names) as `normaliser` reads it.
 */
export function withResponseModelNames(normaliser: Normaliser, catalog: Catalog): Normaliser {
  const idOf = (modelId: string) => bedrockModelIdOf(modelId, catalog) ?? modelId;
  return {
    modelRef: (modelId) => normaliser.modelRef(idOf(modelId)),
    normalise: (raw) => normaliser.normalise({ ...raw, modelId: idOf(raw.modelId) }),
  };
}
