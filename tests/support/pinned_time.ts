/**
 * Pinned time for tests whose answer depends on the calendar (model lifecycles, monthly budgets).
 * Such a test runs at {@link PINNED_NOW} and picks the models it needs by their state on that day,
 * so it gives the same answer on any date it is run — CI reruns the suite a year ahead to prove it.
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
