/**
 * `ledgerRecord` + `encodeRow` for a stream of calls that repeat the same callers and models (the gateway's, and logs read row by row): what
 * depends only on who called which model where and when (the rate card, the attribution, the encoded shared
 * columns) is worked out once per distinct caller × model × Region × tier × account × day and kept; each call then
 * costs its price at the card and its per-call columns. The result is the same row, to the byte, as
 * `encodeRow(ledgerRecord(raw))` (row-encoder.test.ts holds it to that).
 */
import type {
  AttributedRecord,
  Attribution,
  Flag,
  ModelRef,
  Picos,
  RawUsage,
  UsageRecord,
} from '../core/index.ts';
import { priceAtCard, type RateCard, rateCardOf } from '../price/index.ts';
import { encodeRow, RowTemplate } from '../store/index.ts';
import type { IngestDeps } from './ingest.ts';

/**
 * normalise → price → attribute for one record, building the final record once (the stage functions each return a
 * copy; on the ingest path those copies were most of the garbage).
 */
export function ledgerRecord(
  deps: Pick<IngestDeps, 'normaliser' | 'catalog' | 'attributor'>,
  raw: RawUsage,
): AttributedRecord {
  const record = deps.normaliser.normalise(raw);
  return ledgerRecordAt(deps, record, rateCardOf(record, deps.catalog));
}

/** `ledgerRecord` of a normalised record whose rate card was found already (`rateCardOf`). */
export function ledgerRecordAt(
  deps: Pick<IngestDeps, 'catalog' | 'attributor'>,
  record: UsageRecord,
  card: RateCard,
): AttributedRecord {
  return {
    ...record,
    ...priceAtCard(record, card, deps.catalog.hash),
    attribution: deps.attributor.resolve(record),
  };
}

const DAY_MS = 86_400_000;
/** Distinct callers × models × days kept; past this the cache starts over (days roll, keys come and go). */
const MAX_SHAPES = 10_000;
/**
 * And at most this many characters of keys, each map: a key holds the request metadata, up to 16 × 256 characters
 * (bedrock.md §4.1), and a shape's template holds it again. Keys of ~300 characters fill MAX_SHAPES first; keys of
 * ~4 KB kept 10,000 shapes and 10,000 first calls as ~280 MB of heap in a row-by-row ingest.
 */
const MAX_KEY_CHARS = 4_000_000;

interface Shape {
  readonly model: ModelRef;
  /** The normaliser's flags (they depend on the model and on cacheTtlKnown, both in the key). */
  readonly flags: readonly Flag[];
  readonly card: RateCard;
  readonly attribution: Attribution;
  readonly template: RowTemplate;
}

export interface RowEncoder {
  /** One call as a ledger row (`encodeRow`'s format), and its list price (null when unpriced). */
  encode(raw: RawUsage): { readonly row: string; readonly picos: Picos | null };
}

export function createRowEncoder(
  deps: Pick<IngestDeps, 'normaliser' | 'catalog' | 'attributor'>,
): RowEncoder {
  const shapes = new Map<string, Shape>();
  /**
   * Keys called once so far, with no shape yet. A shape costs about twice a plain encoding to make, so it is made
   * for a key's second call: invocation logs of many users × features × days can bring mostly new keys (the
   * benchmark's small-files corpus: nearly every record), and then cost what `encodeRow(ledgerRecord(raw))` costs
   * (~10 µs) instead of ~18.
   */
  const seenOnce = new Set<string>();
  let shapeChars = 0;
  let seenChars = 0;
  const shapeOf = (raw: RawUsage): Shape => {
    const record = deps.normaliser.normalise(raw);
    const card = rateCardOf(record, deps.catalog);
    const first = ledgerRecordAt(deps, record, card);
    return {
      model: record.model,
      flags: record.flags,
      card,
      attribution: first.attribution,
      template: new RowTemplate(first),
    };
  };
  return {
    encode(raw) {
      // Every input of the shared columns (PER_CALL_COLUMNS are the rest), of the rate card and of the flags.
      const key = JSON.stringify([
        raw.accountId,
        raw.region,
        raw.inferenceRegion,
        raw.operation,
        raw.modelId,
        raw.tier,
        raw.identityArn,
        Math.floor(raw.occurredAt / DAY_MS),
        raw.cacheTtlKnown,
        raw.requestMetadata,
      ]);
      let shape = shapes.get(key);
      if (shape === undefined) {
        if (!seenOnce.has(key)) {
          // A key's first call goes the plain way; its second makes the shape.
          if (seenOnce.size >= MAX_SHAPES || seenChars >= MAX_KEY_CHARS) {
            seenOnce.clear();
            seenChars = 0;
          }
          seenOnce.add(key);
          seenChars += key.length;
          const record = ledgerRecord(deps, raw);
          return { row: encodeRow(record), picos: record.cost.picos };
        }
        seenOnce.delete(key);
        if (shapes.size >= MAX_SHAPES || shapeChars >= MAX_KEY_CHARS) {
          shapes.clear();
          shapeChars = 0;
        }
        shape = shapeOf(raw);
        shapes.set(key, shape);
        shapeChars += key.length;
      }
      const { flags, cost } = priceAtCard(
        { tokens: raw.tokens, flags: shape.flags },
        shape.card,
        deps.catalog.hash,
      );
      // Field by field, as normalise does: one object per call.
      const priced: AttributedRecord = {
        requestId: raw.requestId,
        occurredAt: raw.occurredAt,
        accountId: raw.accountId,
        region: raw.region,
        inferenceRegion: raw.inferenceRegion,
        operation: raw.operation,
        modelId: raw.modelId,
        identityArn: raw.identityArn,
        requestMetadata: raw.requestMetadata,
        tokens: raw.tokens,
        cacheTtlKnown: raw.cacheTtlKnown,
        tier: raw.tier,
        latencyMs: raw.latencyMs,
        firstByteMs: raw.firstByteMs,
        errorCode: raw.errorCode,
        source: raw.source,
        model: shape.model,
        flags,
        cost,
        attribution: shape.attribution,
      };
      return { row: shape.template.encode(priced), picos: cost.picos };
    },
  };
}
