/**
 * The gateway benchmark's load generator, in a process of its own: `load.ts SPEC_JSON` prints one line
 * `LOAD_RESULT {…}`. A closed loop of `concurrency` workers on a keep-alive HTTP/1.1 agent with exactly that many
 * sockets; each worker sends the same request again as soon as the previous answer has fully arrived. Warm-up
 * answers are validated in full (status, body shape, usage present); measured answers only by status, so the
 * generator stays cheap. CPU of the processes under test is read from /proc/<pid>/stat at the edges of the
 * measured window (utime + stime, all threads).
 */

import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect as connectHttp2 } from 'node:http2';
import { pathToFileURL } from 'node:url';

export const LOAD_PREFIX = 'LOAD_RESULT ';

export type Expect = 'json' | 'eventstream' | 'sse';

export interface LoadSpec {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly path: string;
  /** Header sets used round-robin (e.g. one per virtual key); content-length is added. */
  readonly headers: readonly Readonly<Record<string, string>>[];
  readonly body: string;
  readonly concurrency: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly expect: Expect;
  /**
   * `http1` (default): one keep-alive socket per worker. `h2c`: every worker's requests are streams of one
   * cleartext HTTP/2 connection, as the AWS SDK v3 sends them to a plain http:// endpoint.
   */
  readonly protocol?: 'http1' | 'h2c';
  /** Processes whose CPU is measured over the window, by label. */
  readonly pids: Readonly<Record<string, number>>;
}

export interface LoadResult {
  readonly requests: number;
  readonly errors: number;
  readonly seconds: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
  /** Time to the first response byte, median. */
  readonly ttfbP50Ms: number;
  /** Mean response size (bytes). */
  readonly responseBytes: number;
  /** Warm-up answers checked in full, and how many failed the check. */
  readonly validated: number;
  readonly invalid: number;
  readonly firstProblem: string | null;
  /** CPU seconds of each watched process over the window. */
  readonly cpuSeconds: Readonly<Record<string, number>>;
  /** CPU seconds of this load generator over the window. */
  readonly loadCpuSeconds: number;
  /** Busy CPU seconds of the whole machine over the window (every process). */
  readonly machineBusySeconds: number;
}

const TICK_S = 0.01; // USER_HZ = 100 on Linux

/** utime + stime of a process (all its threads), in seconds; null when it is gone. */
export function processCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces and parentheses): state is field 3, utime 14, stime 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) * TICK_S;
  } catch {
    return null;
  }
}

function machineBusySeconds(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const [, user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0] = line
      .trim()
      .split(/\s+/)
      .map(Number);
    return (user + nice + system + irq + softirq) * TICK_S;
  } catch {
    return 0;
  }
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

/** Checks one full warm-up answer; returns what is wrong, or null. */
export function checkAnswer(
  expect: Expect,
  status: number,
  contentType: string,
  body: Buffer,
): string | null {
  if (status !== 200) return `HTTP ${status}: ${body.toString('utf8').slice(0, 300)}`;
  if (expect === 'json') {
    if (!contentType.includes('json')) return `content-type ${contentType}`;
    try {
      const j = JSON.parse(body.toString('utf8')) as { usage?: unknown };
      return j.usage === undefined ? 'no usage in the JSON answer' : null;
    } catch (e) {
      return `invalid JSON: ${(e as Error).message}`;
    }
  }
  if (expect === 'eventstream') {
    if (!contentType.includes('application/vnd.amazon.eventstream'))
      return `content-type ${contentType}`;
    // Walk the frames: each starts with its total length; the last must end exactly at the end of the body.
    let at = 0;
    let frames = 0;
    while (at + 12 <= body.length) {
      const total = body.readUInt32BE(at);
      if (total < 16 || at + total > body.length) return `broken frame at byte ${at}`;
      at += total;
      frames++;
    }
    if (at !== body.length) return `trailing ${body.length - at} bytes`;
    return frames >= 3 ? null : `only ${frames} frames`;
  }
  if (!contentType.includes('text/event-stream')) return `content-type ${contentType}`;
  const text = body.toString('utf8');
  if (!text.trimEnd().endsWith('data: [DONE]')) return 'SSE stream without data: [DONE]';
  return text.includes('"usage"') ? null : 'no usage chunk in the SSE stream';
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const url = new URL(spec.url);
  const body = Buffer.from(spec.body);
  const headerSets = spec.headers.map((h) => ({
    ...h,
    'content-length': String(body.length),
  }));
  const agent = new Agent({
    keepAlive: true,
    maxSockets: spec.concurrency,
    maxFreeSockets: spec.concurrency,
    scheduling: 'lifo',
  });
  const base = {
    agent,
    host: url.hostname,
    port: Number(url.port),
    method: 'POST',
    path: spec.path,
  };

  let phase: 'warmup' | 'measure' | 'drain' = 'warmup';
  let latencies = new Float64Array(1 << 16);
  let ttfbs = new Float64Array(1 << 16);
  let n = 0;
  let errors = 0;
  let bytes = 0;
  let validated = 0;
  let invalid = 0;
  let firstProblem: string | null = null;
  let sent = 0;
  let inFlight = 0;
  let onDrained: (() => void) | null = null;

  const note = (problem: string) => {
    firstProblem ??= problem;
  };

  /** One answer has fully arrived (or failed): counts it and sends the next request. */
  const done = (
    t0: number,
    t1: number,
    validating: boolean,
    status: number,
    contentType: string,
    chunks: Buffer[] | null,
    size: number,
  ): void => {
    inFlight--;
    if (chunks !== null && validating) {
      validated++;
      const problem = checkAnswer(spec.expect, status, contentType, Buffer.concat(chunks));
      if (problem !== null) {
        invalid++;
        note(problem);
      }
    }
    // Throughput and latency count the answers that finished inside the window.
    if (phase === 'measure') {
      if (status !== 200) {
        errors++;
        note(`HTTP ${status}`);
      } else {
        if (n === latencies.length) {
          const grow = new Float64Array(n * 2);
          grow.set(latencies);
          latencies = grow;
          const growT = new Float64Array(n * 2);
          growT.set(ttfbs);
          ttfbs = growT;
        }
        latencies[n] = performance.now() - t0;
        ttfbs[n] = t1 - t0;
        n++;
        bytes += size;
      }
    }
    fire();
  };
  const failed = (what: string, e: Error): void => {
    inFlight--;
    if (phase === 'measure') errors++;
    note(`${what}: ${e.message}`);
    setTimeout(fire, 5);
  };

  const h2 = spec.protocol === 'h2c' ? connectHttp2(spec.url) : null;
  h2?.on('error', (e) => note(`h2c session: ${e.message}`));
  const h2Headers = headerSets.map((h) => ({ ...h, ':method': 'POST', ':path': spec.path }));

  const fire = (): void => {
    if (phase === 'drain') {
      if (inFlight === 0) onDrained?.();
      return;
    }
    const i = sent++ % headerSets.length;
    const t0 = performance.now();
    const validating = phase === 'warmup';
    inFlight++;
    let size = 0;
    const chunks: Buffer[] | null = validating ? [] : null;
    const onData = (c: Buffer) => {
      size += c.length;
      chunks?.push(c);
    };
    if (h2 !== null) {
      const stream = h2.request(h2Headers[i] as Record<string, string>);
      let t1 = t0;
      let status = 0;
      let contentType = '';
      stream.on('response', (h) => {
        t1 = performance.now();
        status = Number(h[':status'] ?? 0);
        contentType = String(h['content-type'] ?? '');
      });
      stream.on('data', onData);
      stream.on('end', () => done(t0, t1, validating, status, contentType, chunks, size));
      stream.on('error', (e) => failed('stream', e));
      stream.end(body);
      return;
    }
    const req = request({ ...base, headers: headerSets[i] as Record<string, string> }, (res) => {
      const t1 = performance.now();
      res.on('data', onData);
      res.on('end', () =>
        done(
          t0,
          t1,
          validating,
          res.statusCode ?? 0,
          String(res.headers['content-type'] ?? ''),
          chunks,
          size,
        ),
      );
      res.on('error', (e) => failed('response', e));
    });
    req.on('error', (e) => failed('request', e));
    req.end(body);
  };

  for (let i = 0; i < spec.concurrency; i++) fire();
  await new Promise((r) => setTimeout(r, spec.warmupMs));

  const cpu0: Record<string, number | null> = {};
  for (const [k, pid] of Object.entries(spec.pids)) cpu0[k] = processCpuSeconds(pid);
  const own0 = process.cpuUsage();
  const busy0 = machineBusySeconds();
  const t0 = performance.now();
  phase = 'measure';
  await new Promise((r) => setTimeout(r, spec.durationMs));
  phase = 'drain';
  const seconds = (performance.now() - t0) / 1000;
  const busy1 = machineBusySeconds();
  const own = process.cpuUsage(own0);
  const cpuSeconds: Record<string, number> = {};
  for (const [k, pid] of Object.entries(spec.pids)) {
    const a = cpu0[k];
    const b = processCpuSeconds(pid);
    cpuSeconds[k] = a === null || a === undefined || b === null ? Number.NaN : b - a;
  }
  await new Promise<void>((r) => {
    onDrained = r;
    if (inFlight === 0) r();
  });
  agent.destroy();
  h2?.close();

  const lat = latencies.subarray(0, n).sort();
  const tt = ttfbs.subarray(0, n).sort();
  let sum = 0;
  for (const x of lat) sum += x;
  return {
    requests: n,
    errors,
    seconds,
    rps: n / seconds,
    p50Ms: percentile(lat, 50),
    p90Ms: percentile(lat, 90),
    p99Ms: percentile(lat, 99),
    meanMs: n === 0 ? Number.NaN : sum / n,
    ttfbP50Ms: percentile(tt, 50),
    responseBytes: n === 0 ? 0 : bytes / n,
    validated,
    invalid,
    firstProblem,
    cpuSeconds,
    loadCpuSeconds: (own.user + own.system) / 1e6,
    machineBusySeconds: busy1 - busy0,
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
  runLoad(spec)
    .then((r) => {
      process.stdout.write(`${LOAD_PREFIX}${JSON.stringify(r)}\n`);
    })
    .catch((e: unknown) => {
      console.error(e);
      process.exit(1);
    });
}
