/**
 * One benchmark step in a process of its own, so its peak RSS is its own: `child.ts STEP ARGS_JSON`. Prints one
 * line `BENCH_RESULT {…}` with the step's result plus peak RSS (VmHWM and maxRSS) and
 * CPU seconds (of the step alone, and of the whole process including start-up).
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { LEDGER_STEPS, type LedgerArgs } from './steps-ledger.ts';
import { type IngestArgs, STEPS, type StepResult } from './steps-ingest.ts';

export const RESULT_PREFIX = 'BENCH_RESULT ';

function vmHwmMb(): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  const [step = '', json = '{}'] = process.argv.slice(2);
  const args = JSON.parse(json) as IngestArgs & LedgerArgs;
  const cpu0 = process.cpuUsage();
  let result: StepResult;
  if (step in STEPS) result = await STEPS[step as keyof typeof STEPS](args);
  else if (step in LEDGER_STEPS) result = await LEDGER_STEPS[step as keyof typeof LEDGER_STEPS](args);
  else throw new Error(`unknown step ${step}`);
  const cpu = process.cpuUsage(cpu0);
  const usage = process.resourceUsage();
  const out = {
    stepCpuSeconds: (cpu.user + cpu.system) / 1e6,
    ...result,
    peakRssMb: vmHwmMb() ?? usage.maxRSS / 1024,
    maxRssMb: usage.maxRSS / 1024,
    cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6,
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
