/**
 * The CLI's name as the user typed it, so usage lines and hints can be copied back into the same
 * terminal: `deno task cli` (the task says so through `CLI_INVOKED_AS`), the compiled binary's own
 * file name (`openai-image-cli`, or whatever it was renamed to), or `deno run -P=cli <path>`.
 *
 * @module
 */
import { basename, isAbsolute, relative } from "node:path";
import { fileURLToPath } from "node:url";

/** The product name: `--version` output, and usage lines when nothing better is known. */
export const PRODUCT_NAME = "openai-image-cli";

/** The environment variable a launcher sets to the words that start the CLI. */
export const INVOKED_AS_VARIABLE = "CLI_INVOKED_AS";

/** How this process was started. */
export interface Invocation {
  /** True for a `deno compile` binary. */
  readonly standalone: boolean;
  /** The running executable (the binary itself when standalone). */
  readonly execPath: string;
  /** URL of the main module. */
  readonly mainModule: string;
  /** Working directory. */
  readonly cwd: string;
  /** What a launcher said the CLI was started as (`CLI_INVOKED_AS`), if anything. */
  readonly invokedAs?: string;
}

/** The words that start the CLI for the user who started this process. */
export function programName(invocation: Invocation): string {
  const told = invocation.invokedAs?.trim();
  if (told) return told;
  if (invocation.standalone) {
    return basename(invocation.execPath).replace(/\.exe$/i, "") || PRODUCT_NAME;
  }
  if (!invocation.mainModule.startsWith("file:")) return PRODUCT_NAME;
  const path = fileURLToPath(invocation.mainModule);
  const shown = relative(invocation.cwd, path);
  return `deno run -P=cli ${shown.startsWith("..") || isAbsolute(shown) ? path : shown}`;
}

/** This process's invocation (reads `CLI_INVOKED_AS` only when allowed to). */
export function currentInvocation(): Invocation {
  const allowed =
    Deno.permissions.querySync({ name: "env", variable: INVOKED_AS_VARIABLE }).state === "granted";
  const invokedAs = allowed ? Deno.env.get(INVOKED_AS_VARIABLE) : undefined;
  return {
    standalone: Deno.build.standalone,
    execPath: Deno.execPath(),
    mainModule: Deno.mainModule,
    cwd: Deno.cwd(),
    ...(invokedAs === undefined ? {} : { invokedAs }),
  };
}
