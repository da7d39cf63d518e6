/**
 * Time as an input. Everything that depends on the date or measures an age takes a {@link Clock}
 * (epoch milliseconds) as a collaborator; the wall clock below is read nowhere else in `src/`, so a
 * test pins time by passing its own clock and a whole process can be moved in time (libfaketime in
 * CI's year-ahead run) without any code noticing the difference.
 *
 * @module
 */

/** The current time as epoch milliseconds. */
export type Clock = () => number;

/** The process's wall clock. */
export const systemClock: Clock = () => Date.now();

/** A clock that always answers `at` (tests, and replays of a fixed moment). */
export function fixedClock(at: number | string | Date): Clock {
  const ms = typeof at === "number" ? at : new Date(at).getTime();
  if (!Number.isFinite(ms)) throw new RangeError(`Invalid time: ${JSON.stringify(String(at))}`);
  return () => ms;
}

/**
 * Resolves after `ms` milliseconds of real time, or at once when `signal` aborts; never rejects
 * (backoff pauses and polling loops, which wait on the machine, not on a clock under test).
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** The date of `clock` as a `Date` (for lifecycle checks that compare calendar days). */
export function today(clock: Clock): Date {
  return new Date(clock());
}
