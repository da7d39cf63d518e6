/**
 * The CLI's exit codes: the codes of {@link errorKindInfo} for domain errors, plus the CLI's own
 * (usage, configuration). One table feeds `--help`; the README lists the same codes.
 *
 * @module
 */
import { ERROR_KINDS, errorKindInfo } from "../errors.ts";

/** Exit code of a command line the CLI cannot run (unknown command or option, bad value). */
export const EXIT_USAGE = 2;
/** Exit code of invalid settings (environment, `.env` or flags). */
export const EXIT_CONFIG = 3;

/** What each exit code means, in order. */
export const EXIT_CODES: readonly { code: number; meaning: string }[] = Object.freeze([
  { code: 0, meaning: "success" },
  { code: 1, meaning: "unexpected error" },
  {
    code: EXIT_USAGE,
    meaning: "usage error (unknown command or option, bad value) or invalid request",
  },
  { code: EXIT_CONFIG, meaning: "invalid configuration (see `config check`)" },
  { code: 4, meaning: "not found" },
  { code: 5, meaning: "no API key configured, or a key was refused" },
  { code: 6, meaning: "rate limit, quota or budget reached" },
  { code: 7, meaning: "refused by moderation" },
  { code: 8, meaning: "upstream unavailable or timed out" },
  { code: 9, meaning: "storage error" },
  { code: 130, meaning: "interrupted (Ctrl+C) or cancelled" },
]);

/** The error kinds that end with `code`. */
export function kindsForExitCode(code: number): string[] {
  return ERROR_KINDS.filter((kind) => errorKindInfo(kind).exitCode === code);
}

/** The exit-code table as help text lines. */
export function renderExitCodes(): string {
  return EXIT_CODES.map(({ code, meaning }) => {
    const kinds = kindsForExitCode(code);
    const suffix = kinds.length > 0 ? ` [${kinds.join(", ")}]` : "";
    return `  ${String(code).padEnd(4)} ${meaning}${suffix}`;
  }).join("\n");
}
