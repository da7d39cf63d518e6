/**
 * Writes `docs/openapi.yaml` from the HTTP routes (`deno task openapi`); with `--check`, exits 1
 * when the committed file differs from what the code generates.
 *
 * @module
 */
import { apiDocumentYaml } from "../src/http/api_document.ts";

const TARGET = new URL("../docs/openapi.yaml", import.meta.url);

async function main(args: string[]): Promise<number> {
  const check = args.includes("--check");
  const unknown = args.filter((a) => a !== "--check");
  if (unknown.length > 0) {
    console.error(`Unknown argument: ${unknown[0]} (accepted: --check)`);
    return 2;
  }
  const generated = apiDocumentYaml();
  if (check) {
    let committed = "";
    try {
      committed = await Deno.readTextFile(TARGET);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    if (committed === generated) {
      console.error("docs/openapi.yaml is up to date");
      return 0;
    }
    console.error("docs/openapi.yaml differs from the code: run `deno task openapi`");
    return 1;
  }
  await Deno.writeTextFile(TARGET, generated);
  console.error(`Wrote docs/openapi.yaml (${generated.length} bytes)`);
  return 0;
}

Deno.exit(await main(Deno.args));
