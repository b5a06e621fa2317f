/**
 * A small seeded PRNG (mulberry32) and the draws the demo needs. Same seed, same sequence, on every platform:
 * the generator never touches Math.random, so demo output is byte-for-byte reproducible.
 */

export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [min, max], both inclusive. */
  int(min: number, max: number): number;
  /** Integer in [min, max] drawn log-uniformly: small values common, large values rare but present. */
  logInt(min: number, max: number): number;
  chance(probability: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** Picks by relative weight; `weightOf` must be ≥ 0 and at least one weight must be > 0. */
  weighted<T>(items: readonly T[], weightOf: (item: T) => number): T;
  /** `length` lowercase hex digits. */
  hex(length: number): string;
  /** A version-4-shaped UUID, e.g. `081f659f-fc8a-40ce-8a6b-688bcaa9c628`. */
  uuid(): string;
  /** A string of lowercase letters and digits. */
  alnum(length: number): string;
}

const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';

export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1));
  const hex = (length: number): string => {
    let out = '';
    for (let i = 0; i < length; i++) out += Math.floor(next() * 16).toString(16);
    return out;
  };
  const pick = <T>(items: readonly T[]): T => {
    const item = items[Math.floor(next() * items.length)];
    if (item === undefined) throw new RangeError('pick from an empty list');
    return item;
  };
  return {
    next,
    int,
    logInt(min, max) {
      const lo = Math.log(Math.max(min, 1));
      const hi = Math.log(Math.max(max, 1) + 1);
      return Math.min(max, Math.max(min, Math.floor(Math.exp(lo + next() * (hi - lo)))));
    },
    chance: (probability) => next() < probability,
    pick,
    weighted(items, weightOf) {
      let total = 0;
      for (const item of items) total += weightOf(item);
      let r = next() * total;
      for (const item of items) {
        r -= weightOf(item);
        if (r < 0) return item;
      }
      return pick(items);
    },
    hex,
    uuid() {
      const variant = '89ab'[Math.floor(next() * 4)] ?? '8';
      return `${hex(8)}-${hex(4)}-4${hex(3)}-${variant}${hex(3)}-${hex(12)}`;
    },
    alnum(length) {
      let out = '';
      for (let i = 0; i < length; i++) out += ALNUM[Math.floor(next() * ALNUM.length)] ?? 'a';
      return out;
    },
  };
}
