/** Runs a program to its end and collects what it printed (tests of real clients and of the CLI as a process). */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface ProcessRun {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
}

/** `command args…` with exactly `env`; killed after `timeoutMs` (default 90 s). Rejects only if it cannot start. */
export function runProcess(
  command: string,
  args: readonly string[],
  opts: { env: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number },
): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: opts.env,
      ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 90_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

const ROOT = join(import.meta.dirname, '..', '..');

/** `tokenledger ARGS…` from source in a child process, as a user runs it, with exactly `env`. */
export function runCliProcess(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<ProcessRun> {
  return runProcess(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], {
    cwd: ROOT,
    env,
  });
}

/** The standard AWS environment of a client pointed at local fakes: static keys, a Region, no instance metadata. */
export function awsTestEnv(home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: home,
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'secret',
    AWS_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
    ...extra,
  };
}

/** An ES module script run by this Node from the project's root (so it imports the project's dependencies). */
export function runNodeScript(script: string, env: NodeJS.ProcessEnv): Promise<ProcessRun> {
  return runProcess(process.execPath, ['--input-type=module', '-e', script], { env });
}

/** The executable `name` on PATH, or null. */
export function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}
