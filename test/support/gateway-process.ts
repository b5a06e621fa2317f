/** `tokenledger gateway` as a process of its own, as an operator runs it: started, called, stopped. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface GatewayProcess {
  readonly url: string;
  readonly pid: number;
  /** What it printed so far, stdout then stderr. */
  logs(): string;
  /** SIGTERM; resolves with its exit code once its output is all read. */
  stop(): Promise<number | null>;
  kill(): void;
}

/** Starts `tokenledger gateway --port 0 --db DB` with `env` as its whole environment; resolves once it listens. */
export async function startGatewayProcess(
  db: string,
  env: NodeJS.ProcessEnv,
): Promise<GatewayProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'gateway', '--port', '0', '--db', db],
    { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    err += s;
  });
  // 'close', not 'exit': what it wrote to stderr has all been read by then.
  const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no start line: ${out} ${err}`)), 30_000);
      child.stdout.setEncoding('utf8').on('data', (s: string) => {
        out += s;
        const m = /Bedrock gateway on (\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1] as string);
        }
      });
      void exited.then(() => reject(new Error(`the gateway exited: ${err}`)));
    });
    return {
      url,
      pid: child.pid as number,
      logs: () => out + err,
      stop: async () => {
        child.kill('SIGTERM');
        return exited;
      },
      kill: () => child.kill('SIGKILL'),
    };
  } catch (e: unknown) {
    child.kill('SIGKILL');
    throw e;
  }
}
