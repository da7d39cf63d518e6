/**
 * The goals of issue #20 and their verdict on one bench run's figures.
 *
 * @module
 */
import { ratio } from "./stats.ts";

/** The figures the goals are judged on; null where the run did not measure it. */
export interface GoalFigures {
  /** Throughput of this service's REST `POST /mcp` (`save: true`), requests per second. */
  serviceRps: number | null;
  /** Throughput of the fake upstream alone with the same client. */
  fakeRps: number | null;
  /** Throughput of the predecessor's `POST /mcp`. */
  predecessorRps: number | null;
  /** Median spawn → `initialize` answered of this server's fastest stdio entry, ms. */
  stdioMs: number | null;
  /** Median spawn → `initialize` answered of the predecessor's stdio server, ms. */
  predecessorStdioMs: number | null;
  /** Images this service lost or failed in the throughput run. */
  lostImages: number | null;
  /** Peak RSS of this service with 50 REST generations in flight, bytes. */
  peakRssBytes: number | null;
}

/** How a goal came out. */
export type GoalStatus = "met" | "missed" | "not measured";

/** One goal's verdict. */
export interface GoalVerdict {
  /** What is measured. */
  readonly goal: string;
  /** The target, as text. */
  readonly target: string;
  /** The measured value, as text ("—" when not measured). */
  readonly value: string;
  /** The verdict. */
  readonly status: GoalStatus;
}

/** The targets. */
export const TARGETS = Object.freeze({
  serviceVsFake: 0.8,
  serviceVsPredecessor: 1.0,
  stdioVsPredecessor: 0.6,
  lostImages: 0,
  peakRssBytes: 300 * 1024 * 1024,
});

function verdict(
  goal: string,
  target: string,
  value: number | null,
  met: (value: number) => boolean,
  show: (value: number) => string,
): GoalVerdict {
  if (value === null) return { goal, target, value: "—", status: "not measured" };
  return { goal, target, value: show(value), status: met(value) ? "met" : "missed" };
}

const times = (value: number) => `${value.toFixed(2)}×`;

/** Judges every goal of the issue on `figures`. */
export function evaluateGoals(figures: GoalFigures): GoalVerdict[] {
  return [
    verdict(
      "gateway throughput vs the fake alone",
      `≥ ${TARGETS.serviceVsFake.toFixed(2)}×`,
      ratio(figures.serviceRps, figures.fakeRps),
      (r) => r >= TARGETS.serviceVsFake,
      times,
    ),
    verdict(
      "gateway throughput vs the predecessor",
      `≥ ${TARGETS.serviceVsPredecessor.toFixed(2)}×`,
      ratio(figures.serviceRps, figures.predecessorRps),
      (r) => r >= TARGETS.serviceVsPredecessor,
      times,
    ),
    verdict(
      "stdio start-up median vs the predecessor",
      `≤ ${TARGETS.stdioVsPredecessor.toFixed(2)}×`,
      ratio(figures.stdioMs, figures.predecessorStdioMs),
      (r) => r <= TARGETS.stdioVsPredecessor,
      times,
    ),
    verdict(
      "images lost or failed by this service",
      `${TARGETS.lostImages}`,
      figures.lostImages,
      (n) => n <= TARGETS.lostImages,
      String,
    ),
    verdict(
      "peak RSS, 50 generations of 1536x1024 in flight (REST `POST /mcp`)",
      `≤ ${TARGETS.peakRssBytes / 1024 / 1024} MB`,
      figures.peakRssBytes,
      (bytes) => bytes <= TARGETS.peakRssBytes,
      (bytes) => `${(bytes / 1024 / 1024).toFixed(0)} MB`,
    ),
  ];
}

/** True when any goal was missed (goals not measured do not count as missed). */
export function anyMissed(verdicts: readonly GoalVerdict[]): boolean {
  return verdicts.some((v) => v.status === "missed");
}
