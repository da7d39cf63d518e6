import assert from "node:assert/strict";
import { type Invocation, PRODUCT_NAME, programName } from "../../src/cli/program.ts";

const RUN: Invocation = {
  standalone: false,
  execPath: "/usr/local/bin/deno",
  mainModule: "file:///srv/app/src/main_cli.ts",
  cwd: "/srv/app",
};

Deno.test("a compiled binary is named by its own file name, whatever it was renamed to", () => {
  const binary = { ...RUN, standalone: true, mainModule: "file:///tmp/deno-compile-x/main_cli.ts" };
  assert.equal(
    programName({ ...binary, execPath: "/usr/local/bin/openai-image-gen" }),
    "openai-image-gen",
  );
  assert.equal(programName({ ...binary, execPath: "/opt/bin/openai-image-cli.exe" }), PRODUCT_NAME);
});

Deno.test("deno task cli says so through CLI_INVOKED_AS", () => {
  assert.equal(programName({ ...RUN, invokedAs: "deno task cli" }), "deno task cli");
  assert.equal(programName({ ...RUN, invokedAs: "  " }), "deno run -P=cli src/main_cli.ts");
});

Deno.test("deno run names the entrypoint relative to the working directory, else absolute", () => {
  assert.equal(programName(RUN), "deno run -P=cli src/main_cli.ts");
  assert.equal(
    programName({ ...RUN, cwd: "/home/me" }),
    "deno run -P=cli /srv/app/src/main_cli.ts",
  );
  assert.equal(
    programName({ ...RUN, mainModule: "https://example.com/main_cli.ts" }),
    PRODUCT_NAME,
  );
});
