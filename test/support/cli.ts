/** Runs the CLI in process, as a user would, with captured output and paths replaced by stable placeholders. */
import { Writable } from 'node:stream';
import { main } from '../../src/cli/main.ts';

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

export interface CliRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** `placeholders` maps a path to the text that replaces it in the output (e.g. the temp dir → `<tmp>`). */
export async function runCli(
  argv: readonly string[],
  opts: {
    env: NodeJS.ProcessEnv;
    cwd: string;
    now: number;
    placeholders: Readonly<Record<string, string>>;
  },
): Promise<CliRun> {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await main({
    argv,
    env: opts.env,
    cwd: opts.cwd,
    stdout,
    stderr: stderr as unknown as NodeJS.WriteStream,
    now: () => opts.now,
  });
  const clean = (s: string) =>
    Object.entries(opts.placeholders).reduce((t, [path, name]) => t.replaceAll(path, name), s);
  return { code, out: clean(stdout.text), err: clean(stderr.text) };
}
