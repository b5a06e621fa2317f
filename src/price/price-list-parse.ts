/**
 * Reads the two Price List documents into rows: a bulk offer file (`/offers/v1.0/aws/<service>/current[/<region>]/
 * index.json`) and a `GetProducts` response (`PriceList` holds each product as a JSON string). Owns the document
 * shapes, OnDemand terms and price units; a price becomes USD per 1M tokens by exact decimal shifting (no floats,
 * never rounded). A product it cannot use becomes a SkippedRow with the reason.
 */
import { AppError } from '../core/index.ts';
import type { PriceListRow, SkippedRow } from './price-list.ts';
import { fail, type Outcome, ok } from './price-list-outcome.ts';
import { parseUsageType, regionOf, type Usage } from './price-list-usage-type.ts';

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

interface Product {
  readonly sku: string;
  readonly serviceCode: string;
  readonly attributes: Readonly<Record<string, string>>;
  /** This SKU's OnDemand terms, `{ termKey: term }`. */
  readonly terms: unknown;
}

function invalid(file: string, what: string): AppError {
  return new AppError('price.import_invalid', `${file}: ${what}`);
}

/**
 * Reads a bulk offer file or a GetProducts response into rows. Throws AppError('price.import_invalid') only when the
 * document is neither; a product it cannot use becomes a skipped row with the reason.
 */
export function parsePriceList(
  text: string,
  sourceName: string,
): { rows: PriceListRow[]; skipped: SkippedRow[] } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e: unknown) {
    throw new AppError('price.import_invalid', `${sourceName}: not valid JSON`, { cause: e });
  }
  const skipped: SkippedRow[] = [];
  let products: Product[];
  if (isRecord(doc) && 'PriceList' in doc) products = readGetProducts(doc, sourceName, skipped);
  else if (isRecord(doc) && ('products' in doc || 'offerCode' in doc)) {
    products = readOfferFile(doc, sourceName, skipped);
  } else {
    throw invalid(
      sourceName,
      'neither a Price List offer file (offerCode, products, terms) nor a GetProducts response (PriceList)',
    );
  }
  const rows: PriceListRow[] = [];
  for (const p of products) readProduct(p, sourceName, rows, skipped);
  return { rows, skipped };
}

function stringAttributes(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isRecord(v)) for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

function readOfferFile(doc: Json, file: string, skipped: SkippedRow[]): Product[] {
  const { products, terms } = doc;
  if (!isRecord(products)) throw invalid(file, 'products is not an object');
  if (!isRecord(terms)) throw invalid(file, 'terms is not an object');
  const onDemand = terms.OnDemand ?? {};
  if (!isRecord(onDemand)) throw invalid(file, 'terms.OnDemand is not an object');
  const offerCode = str(doc.offerCode) ?? '';
  const out: Product[] = [];
  for (const [key, p] of Object.entries(products)) {
    if (!isRecord(p)) {
      skipped.push({
        sku: key,
        usageType: '',
        reason: 'product is not an object',
        source: `${file}#${key}`,
      });
      continue;
    }
    const sku = str(p.sku) ?? key;
    const attributes = stringAttributes(p.attributes);
    out.push({
      sku,
      serviceCode: attributes.servicecode ?? offerCode,
      attributes,
      terms: onDemand[sku],
    });
  }
  return out;
}

function readGetProducts(doc: Json, file: string, skipped: SkippedRow[]): Product[] {
  const list = doc.PriceList;
  if (!Array.isArray(list)) throw invalid(file, 'PriceList is not an array');
  const out: Product[] = [];
  list.forEach((element: unknown, i: number) => {
    const key = `PriceList[${i}]`;
    let item: unknown = element;
    if (typeof element === 'string') {
      try {
        item = JSON.parse(element);
      } catch {
        skipped.push({
          sku: '',
          usageType: '',
          reason: `${key} is not valid JSON`,
          source: `${file}#${key}`,
        });
        return;
      }
    }
    const product = isRecord(item) ? item.product : undefined;
    if (!isRecord(item) || !isRecord(product)) {
      skipped.push({
        sku: '',
        usageType: '',
        reason: `${key} has no product`,
        source: `${file}#${key}`,
      });
      return;
    }
    const attributes = stringAttributes(product.attributes);
    const sku = str(product.sku) ?? key;
    out.push({
      sku,
      serviceCode: str(item.serviceCode) ?? attributes.servicecode ?? '',
      attributes,
      terms: isRecord(item.terms) ? item.terms.OnDemand : undefined,
    });
  });
  return out;
}

function readProduct(p: Product, file: string, rows: PriceListRow[], skipped: SkippedRow[]): void {
  const source = `${file}#${p.sku}`;
  const usageType = p.attributes.usagetype ?? '';
  const skip = (reason: string): void => {
    skipped.push({ sku: p.sku, usageType, reason, source });
  };
  const head = productHead(p, usageType);
  if (!head.ok) {
    skip(head.reason);
    return;
  }
  const { usage, regionCode, dimensions } = head.value;
  for (const d of dimensions) {
    const price = readPrice(d.effectiveDate, d.dimension);
    if (price.ok) {
      const { prefix: _, ...fields } = usage;
      rows.push({
        sku: p.sku,
        serviceCode: p.serviceCode,
        usageType,
        regionCode,
        ...fields,
        ...price.value,
        source,
      });
    } else skip(price.reason);
  }
}

/** What every price dimension of a product shares: its usage type, Region and OnDemand dimensions. */
function productHead(
  p: Product,
  usageType: string,
): Outcome<{
  usage: Usage;
  regionCode: string | null;
  dimensions: { effectiveDate: unknown; dimension: Json }[];
}> {
  if (usageType === '') return fail('no usagetype attribute');
  const usage = parseUsageType(usageType, p.attributes);
  if (!usage.ok) return usage;
  const region = regionOf(usage.value.prefix, p.attributes.regionCode);
  if (!region.ok) return region;
  const dimensions = priceDimensions(p.terms);
  if (dimensions.length === 0) return fail('no OnDemand price (no terms.OnDemand for this SKU)');
  return ok({ usage: usage.value, regionCode: region.value, dimensions });
}

function priceDimensions(terms: unknown): { effectiveDate: unknown; dimension: Json }[] {
  const out: { effectiveDate: unknown; dimension: Json }[] = [];
  if (!isRecord(terms)) return out;
  for (const term of Object.values(terms)) {
    if (!isRecord(term) || !isRecord(term.priceDimensions)) continue;
    for (const d of Object.values(term.priceDimensions)) {
      if (isRecord(d)) out.push({ effectiveDate: term.effectiveDate, dimension: d });
    }
  }
  return out;
}

function readPrice(
  effectiveDate: unknown,
  d: Json,
): Outcome<{ usdPerMillion: string; effectiveDate: string }> {
  const date = /^(\d{4}-\d{2}-\d{2})/.exec(str(effectiveDate) ?? '')?.[1];
  if (date === undefined) return fail('no effectiveDate on the OnDemand term');
  const begin = str(d.beginRange) ?? '0';
  const end = str(d.endRange) ?? 'Inf';
  if (begin !== '0' || end !== 'Inf') return fail(`a tiered price (range ${begin} to ${end})`);
  const usd = isRecord(d.pricePerUnit) ? str(d.pricePerUnit.USD) : undefined;
  if (usd === undefined) return fail('no USD price');
  const unit = str(d.unit) ?? '';
  const description = str(d.description) ?? '';
  const shift = unitShift(unit, description);
  if (shift === null) {
    return fail(
      unit.trim().toLowerCase() === 'units'
        ? `unit "Units" with no scale in the description ("${description}" names neither million nor thousand tokens)`
        : `unit "${unit}" is not a token count this importer knows (1K tokens, 1M tokens, tokens)`,
    );
  }
  const perMillion = shiftDecimal(usd, shift);
  if (perMillion === null) return fail(`price "${usd}" is not a non-negative decimal`);
  if ((perMillion.split('.')[1] ?? '').length > 6) {
    return fail(
      `${usd} per ${unit} is ${perMillion} per 1M tokens: more than 6 decimals, which the catalog cannot hold exactly (not rounded)`,
    );
  }
  return ok({ usdPerMillion: perMillion, effectiveDate: date });
}

/**
 * Decimal places a price moves to become USD per 1M tokens: 1K tokens ×1000, 1M tokens ×1, one token ×1e6.
 * Marketplace rows may say only "Units"; their scale is then read from the description ("Million Input Tokens").
 */
function unitShift(unit: string, description: string): number | null {
  const u = unit.trim().toLowerCase();
  if (u === '1k tokens' || u === '1k token') return 3;
  if (u === '1m tokens' || u === '1m token') return 0;
  if (u === 'tokens' || u === 'token') return 6;
  if (u === 'units') {
    if (/\bmillion\b|\b1m\b/i.test(description)) return 0;
    if (/\bthousand\b|\b1k\b/i.test(description)) return 3;
  }
  return null;
}

/** '0.0000350000' shifted by 3 → '0.035'; exact, trailing zeros stripped. Null when not a non-negative decimal. */
function shiftDecimal(text: string, places: number): string | null {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!m) return null;
  const frac = (m[2] ?? '').padEnd(places, '0');
  const whole = `${m[1]}${frac.slice(0, places)}`.replace(/^0+(?=\d)/, '');
  const rest = frac.slice(places).replace(/0+$/, '');
  return rest === '' ? whole : `${whole}.${rest}`;
}
