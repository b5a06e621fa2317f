/**
 * How the demo's developers use Claude Code, so that their invocation logs and their OTLP telemetry (otlp.ts)
 * describe the same work: a session is one sitting (one Claude Code process) on one main model, made of prompts;
 * a prompt is a burst of calls, each sent once the previous call's tool has run, with quick Haiku side calls
 * among them. A developer who worked in the last hour is likely to go on; one idle for `SESSION_IDLE_MS` starts a
 * new session. Planning draws only from the PRNG it is given (generate.ts gives it a stream of its own); the
 * telemetry has another, so the logs do not depend on it.
 */
import type { Developer } from './people.ts';
import { type Invocation, type PlanContext, planInvocation } from './plan.ts';
import type { Random } from './random.ts';
import { HOUR_MS } from './rhythm.ts';
import type { ModelChoice, Workload } from './workloads.ts';

/** A developer idle this long has closed the session; the next call starts a new one. */
export const SESSION_IDLE_MS = 45 * 60_000;
/** Calls per prompt: 1 + a geometric draw with this mean, capped. */
const EXTRA_CALLS_MEAN = 4;
const MAX_CALLS_PER_PROMPT = 16;
/** Seconds between one call's response and the next call: the tool run plus Claude Code's own turnaround. */
const TOOL_GAP_S: readonly [number, number] = [2, 40];
/** Chance that the next prompt goes to a developer mid-session (active within `CONTINUE_WITHIN_MS`). */
const CONTINUE = 0.75;
const CONTINUE_WITHIN_MS = 30 * 60_000;
/** Seconds a developer reads and thinks before the next prompt of a session. */
const THINK_S: readonly [number, number] = [15, 900];
/** No call starts in an hour's last minutes: every response arrives inside its hour (and the period). */
const LAST_MINUTES_MS = 2 * 60_000;

/** One planned Claude Code call and where it sits in its developer's session. */
export interface DeveloperCall {
  readonly inv: Invocation;
  readonly developer: Developer;
  /** The first call of a new session (a new Claude Code process). */
  readonly sessionStart: boolean;
  /** The first call of a prompt; the calls up to the next prompt start answer it, tools run between them. */
  readonly promptStart: boolean;
  /** A quick Haiku call beside the main loop (session title, an Explore subagent). */
  readonly side: boolean;
}

interface Sitting {
  /** End of the developer's last call (its log timestamp + latency), epoch ms. */
  lastEndMs: number;
  /** The session's main-loop model. */
  main: ModelChoice;
}

/** Plans Claude Code workloads hour by hour; keeps who is mid-session between hours. */
export class ClaudeCodePlanner {
  private readonly sittings = new Map<string, Sitting>();

  /**
   * `count` calls of one Claude Code workload in the hour starting at `hourMs`, as prompts of developers. A
   * developer's prompts follow one another (the next starts after the last call's response and some thinking), so
   * their calls never overlap; no call starts in the hour's last two minutes. Fewer calls than `count` when the
   * hour runs out of developers with time left.
   */
  planHour(
    w: Workload,
    hourMs: number,
    count: number,
    ctx: PlanContext,
    rng: Random,
  ): DeveloperCall[] {
    if (w.caller.kind !== 'developers')
      throw new RangeError(`${w.name} is not a developer workload`);
    const people = w.caller.people;
    const side = w.models.filter((c) => c.shape === 'agent-small');
    const mains = w.models.filter((c) => c.shape === undefined);
    const sideShare =
      side.reduce((s, c) => s + c.weight, 0) / w.models.reduce((s, c) => s + c.weight, 0);
    const out: DeveloperCall[] = [];
    /** Developers with no time left in this hour. */
    const done = new Set<string>();
    const lastStart = hourMs + HOUR_MS - LAST_MINUTES_MS;
    let remaining = count;
    while (remaining > 0) {
      const dev = this.pickDeveloper(people, hourMs, done, rng);
      if (dev === null) break;
      const before = this.sittings.get(dev.email);
      // Not before the developer's previous response; someone mid-session goes on after some thinking.
      const ready = before === undefined ? 0 : Math.ceil(before.lastEndMs / 1000) * 1000;
      const midSession = before !== undefined && before.lastEndMs >= hourMs - CONTINUE_WITHIN_MS;
      // Inside this hour: a prompt the last hour had no calls left for starts in its first minutes.
      let t = midSession
        ? Math.max(ready + rng.int(THINK_S[0], THINK_S[1]) * 1000, hourMs + rng.int(0, 180) * 1000)
        : Math.max(hourMs + rng.int(0, 3599) * 1000, ready + THINK_S[0] * 1000);
      if (t >= lastStart) {
        done.add(dev.email);
        continue;
      }
      const fresh = before === undefined || before.lastEndMs < t - SESSION_IDLE_MS;
      const sitting: Sitting = fresh
        ? { lastEndMs: t, main: rng.weighted(mains, (c) => c.weight) }
        : before;
      this.sittings.set(dev.email, sitting);
      let extra = 0;
      while (
        extra < MAX_CALLS_PER_PROMPT - 1 &&
        rng.chance(EXTRA_CALLS_MEAN / (EXTRA_CALLS_MEAN + 1))
      )
        extra++;
      const calls = Math.min(remaining, 1 + extra);
      const who: Workload = { ...w, caller: { kind: 'developers', people: [dev] } };
      for (let i = 0; i < calls && t < lastStart; i++) {
        const choice = side.length > 0 && rng.chance(sideShare) ? rng.pick(side) : sitting.main;
        const inv = planInvocation({ ...who, models: [choice] }, t, ctx, rng);
        out.push({
          inv,
          developer: dev,
          sessionStart: fresh && i === 0,
          promptStart: i === 0,
          side: choice !== sitting.main,
        });
        sitting.lastEndMs = t + inv.timing.latencyMs;
        remaining--;
        // The next call starts after this one's response (its second rounded up) and a tool run.
        t +=
          (Math.ceil(inv.timing.latencyMs / 1000) + rng.int(TOOL_GAP_S[0], TOOL_GAP_S[1])) * 1000;
      }
    }
    return out;
  }

  /** Mostly someone mid-session, else anyone by activity; null when nobody has time left this hour. */
  private pickDeveloper(
    people: readonly Developer[],
    hourMs: number,
    done: ReadonlySet<string>,
    rng: Random,
  ): Developer | null {
    const free = people.filter((d) => !done.has(d.email));
    if (free.length === 0) return null;
    const active = free.filter(
      (d) => (this.sittings.get(d.email)?.lastEndMs ?? 0) >= hourMs - CONTINUE_WITHIN_MS,
    );
    const pool = active.length > 0 && rng.chance(CONTINUE) ? active : free;
    return rng.weighted(pool, (d) => d.activity);
  }
}
