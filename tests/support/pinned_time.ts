/**
 * Time in tests. Code under test takes a {@link Clock} (src/clock.ts); a test hands it
 * {@link pinnedClock} when time stands still, or a {@link manualClock} it moves by hand — never a
 * stubbed `Date.now`. Tests whose answer depends on the calendar (model lifecycles, monthly budgets)
 * run at {@link PINNED_NOW} and pick the models they need by their state on that day, so they give
 * the same answer on any date they are run — CI reruns the suite a year ahead to prove it.
 *
 * @module
 */

import { type Clock, fixedClock } from "../../src/clock.ts";
import type {
  Lifecycle,
  ModelData,
  ModelInfo,
  ModelRegistry,
} from "../../src/generation/models.ts";
import { createModelRegistry, lifecycleOf } from "../../src/generation/models.ts";

/** The moment calendar-dependent tests run at: 2026-11-20 12:00 UTC. */
export const PINNED_NOW: number = Date.UTC(2026, 10, 20, 12, 0, 0);

/** A clock fixed at {@link PINNED_NOW}. */
export const pinnedClock: Clock = fixedClock(PINNED_NOW);

/** A clock the test sets and moves by hand. */
export interface ManualClock {
  /** The current time: pass it where the code under test takes a clock. */
  readonly now: Clock;
  /** Sets the time, epoch milliseconds. */
  set(ms: number): void;
  /** Moves the time on by `ms`. */
  advance(ms: number): void;
}

/** A clock that starts at `start` and moves only when the test moves it. */
export function manualClock(start: number = PINNED_NOW): ManualClock {
  let t = start;
  return {
    now: () => t,
    set(ms) {
      t = ms;
    },
    advance(ms) {
      t += ms;
    },
  };
}

/** What {@link modelWhere} looks for. */
export interface ModelQuery {
  /** Lifecycle states accepted (default: any state but retired). */
  states?: readonly Lifecycle["state"][];
  /** A further condition on the model's data. */
  where?: (model: ModelData) => boolean;
  /** The day the state is judged on (default {@link PINNED_NOW}). */
  at?: number;
  /** The registry to search (default: the built-in one). */
  registry?: ModelRegistry;
}

/** The first model of the registry that matches `query`; throws when none does. */
export function modelWhere(query: ModelQuery = {}): ModelInfo {
  const registry = query.registry ?? createModelRegistry();
  const at = new Date(query.at ?? PINNED_NOW);
  const states = query.states ?? ["current", "shutdown_announced"];
  const found = registry.list().find((model) =>
    states.includes(lifecycleOf(model, at).state) && (query.where?.(model) ?? true)
  );
  if (!found) {
    throw new Error(`No model in the registry is ${states.join(" or ")} on ${at.toISOString()}`);
  }
  return found;
}
