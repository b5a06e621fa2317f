/**
 * One benchmark step in a process of its own, so its peak RSS is its own: `child.ts STEP ARGS_JSON`. Prints one
 * line `BENCH_RESULT {…}` with the step's result plus peak RSS (VmHWM and maxRSS) and
 * CPU seconds (of the step alone, and of the whole process including start-up).
 */
// First: sets the allocator's environment before DuckDB loads, and an ingest step's heap, as the CLI does.
import '../src/store/duckdb/allocator.ts';
import './heap-first.ts';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { GATEWAY_STEPS, type GatewayArgs } from './steps-gateway.ts';
import { type IngestArgs, STEPS, type StepResult } from './steps-ingest.ts';
import { LEDGER_STEPS, type LedgerArgs } from './steps-ledger.ts';
import { OTLP_STEPS, type OtlpArgs } from './steps-otlp.ts';

export const RESULT_PREFIX = 'BENCH_RESULT ';

function vmHwmMb(): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Busy and stolen CPU seconds of the whole machine so far (/proc/stat, USER_HZ = 100). */
function machineCpu(): { busy: number; steal: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const [, user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line
      .trim()
      .split(/\s+/)
      .map(Number);
    return { busy: (user + nice + system + irq + softirq) / 100, steal: steal / 100 };
  } catch {
    return { busy: 0, steal: 0 };
  }
}

async function main(): Promise<void> {
  const [step = '', json = '{}'] = process.argv.slice(2);
  const args = JSON.parse(json) as IngestArgs & LedgerArgs & OtlpArgs & GatewayArgs;
  // Where the memory is: the JS heap vs everything else (DuckDB's buffer pool, zlib), sampled every 20 ms.
  const peak = { heapMb: 0, externalMb: 0, rssMb: 0 };
  const sample = () => {
    const m = process.memoryUsage();
    peak.heapMb = Math.max(peak.heapMb, m.heapTotal / 2 ** 20);
    peak.externalMb = Math.max(peak.externalMb, (m.external + m.arrayBuffers) / 2 ** 20);
    peak.rssMb = Math.max(peak.rssMb, m.rss / 2 ** 20);
  };
  const sampler = setInterval(sample, 20);
  const machine0 = machineCpu();
  const cpu0 = process.cpuUsage();
  let result: StepResult;
  if (step in STEPS) result = await STEPS[step as keyof typeof STEPS](args);
  else if (step in LEDGER_STEPS)
    result = await LEDGER_STEPS[step as keyof typeof LEDGER_STEPS](args);
  else if (step in OTLP_STEPS) result = await OTLP_STEPS[step as keyof typeof OTLP_STEPS](args);
  else if (step in GATEWAY_STEPS)
    result = await GATEWAY_STEPS[step as keyof typeof GATEWAY_STEPS](args);
  else throw new Error(`unknown step ${step}`);
  const cpu = process.cpuUsage(cpu0);
  const machine1 = machineCpu();
  const stepCpuSeconds = (cpu.user + cpu.system) / 1e6;
  clearInterval(sampler);
  sample();
  const usage = process.resourceUsage();
  const out = {
    stepCpuSeconds,
    // CPU that other processes used while the step ran: a step measured on a busy machine is not comparable.
    othersCpuSeconds: Math.max(0, machine1.busy - machine0.busy - stepCpuSeconds),
    stealSeconds: machine1.steal - machine0.steal,
    ...result,
    peakRssMb: vmHwmMb() ?? usage.maxRSS / 1024,
    maxRssMb: usage.maxRSS / 1024,
    cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6,
    sampledPeak: peak,
  };
  process.stdout.write(
    `${RESULT_PREFIX}${JSON.stringify(out, (_, v) => (typeof v === 'bigint' ? v.toString() : v))}\n`,
  );
}

// Imported by run.ts for RESULT_PREFIX: run only as the entry point.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
