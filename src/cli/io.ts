/**
 * The CLI's terminal: stdout carries results (paths, tables, JSON), stderr carries messages and the
 * progress indicator. Commands write through a {@link CliIo} so they never touch `console`.
 *
 * @module
 */

/** Where the CLI writes, and what kind of destinations those are. */
export interface CliIo {
  /** Writes text to stdout (results). */
  out(text: string): void;
  /** Writes text to stderr (messages, progress). */
  err(text: string): void;
  /** True when stderr is a terminal (progress is shown only then). */
  readonly stderrIsTerminal: boolean;
  /** True when stdout is a terminal. */
  readonly stdoutIsTerminal: boolean;
}

const encoder = new TextEncoder();

function writeAll(stream: { writeSync(p: Uint8Array): number }, text: string): void {
  const bytes = encoder.encode(text);
  let offset = 0;
  try {
    while (offset < bytes.length) offset += stream.writeSync(bytes.subarray(offset));
  } catch (error) {
    // A closed pipe (`cli list | head`) is the reader's choice, not a failure of the command.
    if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
  }
}

/** The process's own stdout and stderr. */
export function processIo(): CliIo {
  return {
    out: (text) => writeAll(Deno.stdout, text),
    err: (text) => writeAll(Deno.stderr, text),
    stderrIsTerminal: Deno.stderr.isTerminal(),
    stdoutIsTerminal: Deno.stdout.isTerminal(),
  };
}
