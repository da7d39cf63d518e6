/**
 * Real third-party clients that ship on npm (the MCP Inspector CLI, the conformance suite),
 * installed on first use into `.tools/` with the machine's npm — the same step `.ci/run` takes.
 *
 * @module
 */
import { ROOT } from "./mcp_client.ts";

/** Installs `pkg@version` into `.tools/npm/<name>` unless present; returns its package folder. */
export async function ensureNpmPackage(pkg: string, version: string): Promise<string> {
  const prefix = `${ROOT}.tools/npm/${pkg.replaceAll("/", "__")}-${version}`;
  const dir = `${prefix}/node_modules/${pkg}`;
  try {
    await Deno.stat(`${dir}/package.json`);
    return dir;
  } catch {
    // Not installed yet.
  }
  const result = await new Deno.Command("npm", {
    args: [
      "install",
      "--prefix",
      prefix,
      "--no-save",
      "--no-audit",
      "--no-fund",
      "--loglevel=error",
      `${pkg}@${version}`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!result.success) {
    throw new Error(
      `Cannot install ${pkg}@${version} with npm: ${new TextDecoder().decode(result.stderr)}`,
    );
  }
  return dir;
}
