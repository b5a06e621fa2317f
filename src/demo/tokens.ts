/**
 * Token counts and latencies per request shape. Ranges are drawn log-uniformly so most requests are small and a
 * few are large, as in real traffic. `input` is always the uncached part, like Bedrock's `inputTokenCount`.
 */
import type { Tokens } from '../core/index.ts';
import type { ModelSpec } from './organisation.ts';
import type { Random } from './random.ts';
import type { ShapeKey } from './workloads.ts';

type Range = readonly [number, number];

interface Shape {
  readonly input: Range;
  readonly output: Range;
  /** Chance of reading a cached prefix, and its size. */
  readonly cacheRead?: { readonly chance: number; readonly range: Range };
  /** Chance of writing to the cache (given a read happened), its size, and the chance the write is 1h. */
  readonly cacheWrite?: {
    readonly chance: number;
    readonly range: Range;
    readonly oneHour: number;
  };
  /** When nothing was read: the first turn writes the whole prefix. */
  readonly firstWrite?: { readonly chance: number; readonly range: Range };
  readonly firstByteMs: Range;
}

const SHAPES: Readonly<Record<ShapeKey, Shape>> = {
  embed: { input: [6, 512], output: [0, 0], firstByteMs: [15, 90] },
  classify: { input: [150, 900], output: [1, 24], firstByteMs: [120, 450] },
  rag: { input: [1200, 9000], output: [80, 700], firstByteMs: [250, 900] },
  chat: {
    input: [40, 1500],
    output: [40, 600],
    cacheRead: { chance: 0.7, range: [1800, 6500] },
    cacheWrite: { chance: 0.05, range: [200, 1500], oneHour: 0 },
    firstWrite: { chance: 0.6, range: [1800, 6500] },
    firstByteMs: [250, 900],
  },
  generate: { input: [300, 2500], output: [150, 1200], firstByteMs: [300, 1100] },
  extract: {
    input: [2000, 14000],
    output: [100, 900],
    cacheRead: { chance: 0.4, range: [1500, 3000] },
    firstWrite: { chance: 0.3, range: [1500, 3000] },
    firstByteMs: [400, 1500],
  },
  summarise: {
    input: [2500, 60000],
    output: [200, 1800],
    cacheRead: { chance: 0.3, range: [2000, 20000] },
    cacheWrite: { chance: 0.2, range: [500, 4000], oneHour: 0.2 },
    firstWrite: { chance: 0.15, range: [2000, 20000] },
    firstByteMs: [500, 2500],
  },
  agent: {
    input: [1, 400],
    output: [20, 3200],
    cacheRead: { chance: 0.88, range: [6000, 190000] },
    cacheWrite: { chance: 0.55, range: [80, 9000], oneHour: 0.4 },
    firstWrite: { chance: 1, range: [12000, 45000] },
    firstByteMs: [700, 4000],
  },
  'agent-small': { input: [40, 900], output: [3, 80], firstByteMs: [200, 700] },
  batch: { input: [800, 5000], output: [60, 450], firstByteMs: [300, 1200] },
  eval: { input: [100, 4000], output: [10, 800], firstByteMs: [200, 1500] },
};

export interface Timing {
  readonly latencyMs: number;
  readonly firstByteMs: number;
}

export function drawTokens(shapeKey: ShapeKey, model: ModelSpec, rng: Random): Tokens {
  const shape = SHAPES[shapeKey];
  const input = rng.logInt(shape.input[0], shape.input[1]);
  const output = rng.logInt(shape.output[0], shape.output[1]);
  let cacheRead = 0;
  let write = 0;
  let oneHourChance = 0;
  if (model.cache && shape.cacheRead) {
    if (rng.chance(shape.cacheRead.chance)) {
      cacheRead = rng.logInt(shape.cacheRead.range[0], shape.cacheRead.range[1]);
      if (shape.cacheWrite && rng.chance(shape.cacheWrite.chance)) {
        write = rng.logInt(shape.cacheWrite.range[0], shape.cacheWrite.range[1]);
      }
    } else if (shape.firstWrite && rng.chance(shape.firstWrite.chance)) {
      write = rng.logInt(shape.firstWrite.range[0], shape.firstWrite.range[1]);
    }
    oneHourChance = shape.cacheWrite?.oneHour ?? 0;
  }
  let cacheWrite1h = 0;
  if (write > 0 && rng.chance(oneHourChance)) {
    // A 1h breakpoint usually covers the stable prefix (system prompt, tools); the rest of the write is 5m.
    cacheWrite1h = rng.chance(0.5)
      ? write
      : Math.max(1, Math.round(write * (0.3 + 0.6 * rng.next())));
  }
  return { input, output, cacheRead, cacheWrite5m: write - cacheWrite1h, cacheWrite1h };
}

export function drawTiming(
  shapeKey: ShapeKey,
  model: ModelSpec,
  tokens: Tokens,
  rng: Random,
): Timing {
  const shape = SHAPES[shapeKey];
  const prompt = tokens.input + tokens.cacheRead + tokens.cacheWrite5m + tokens.cacheWrite1h;
  const firstByteMs =
    rng.int(shape.firstByteMs[0], shape.firstByteMs[1]) + Math.round(prompt / 200);
  const decode = Math.round(tokens.output * model.msPerToken * (0.8 + 0.4 * rng.next()));
  return { firstByteMs, latencyMs: firstByteMs + decode + rng.int(5, 60) };
}
