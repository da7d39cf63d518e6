/**
 * The progress line of `generate` and `edit`: stage, elapsed time and partial images received,
 * redrawn in place on stderr. Shown only when stderr is a terminal, so pipes and logs never see
 * control characters.
 *
 * @module
 */
import type { JobStage } from "../core_types.ts";
import type { CliIo } from "./io.ts";
import { systemClock } from "../clock.ts";

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const TICK_MS = 100;
const CLEAR_LINE = "\r\x1b[2K";

const STAGE_TEXT: Record<JobStage, string> = {
  queued: "queued",
  waiting_for_upstream_budget: "waiting for the upstream budget",
  generating: "generating",
  partial_image: "generating",
  storing: "storing",
  done: "done",
};

/** Options of {@link ProgressLine}. */
export interface ProgressOptions {
  /** Draw at all (normally: stderr is a terminal). */
  enabled: boolean;
  /** Partial images requested (0: the count is not shown). */
  partialImages: number;
  /** What is being made, e.g. `1 image with gpt-image-2`. */
  label: string;
  /** Clock, epoch milliseconds. */
  now?: () => number;
}

/** A self-redrawing status line on stderr. */
export class ProgressLine {
  #io: CliIo;
  #options: ProgressOptions;
  #now: () => number;
  #started: number;
  #stage: JobStage = "queued";
  #partials = 0;
  #frame = 0;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** Creates the line; draws nothing until {@link start}. */
  constructor(io: CliIo, options: ProgressOptions) {
    this.#io = io;
    this.#options = options;
    this.#now = options.now ?? systemClock;
    this.#started = this.#now();
  }

  /** Starts redrawing (a no-op when disabled). */
  start(): void {
    if (!this.#options.enabled || this.#timer !== undefined) return;
    this.#started = this.#now();
    this.#draw();
    this.#timer = setInterval(() => this.#draw(), TICK_MS);
  }

  /** Records a progress event of the job. */
  update(event: { stage: JobStage; partialImage?: unknown }): void {
    this.#stage = event.stage;
    if (event.partialImage !== undefined) this.#partials++;
    if (this.#timer !== undefined) this.#draw();
  }

  /** Partial images received so far. */
  get partialsReceived(): number {
    return this.#partials;
  }

  /** The current status text (without spinner and control characters). */
  text(): string {
    const seconds = ((this.#now() - this.#started) / 1000).toFixed(1);
    const parts = [this.#options.label, STAGE_TEXT[this.#stage], `${seconds} s`];
    if (this.#options.partialImages > 0) {
      parts.push(`partial images ${this.#partials}/${this.#options.partialImages}`);
    }
    return parts.join(" · ");
  }

  /** Stops redrawing and erases the line; prints `summary` in its place when given. */
  stop(summary?: string): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#io.err(CLEAR_LINE + (summary ? `${summary}\n` : ""));
  }

  #draw(): void {
    const frame = FRAMES[this.#frame++ % FRAMES.length];
    this.#io.err(`${CLEAR_LINE}${frame} ${this.text()}`);
  }
}
