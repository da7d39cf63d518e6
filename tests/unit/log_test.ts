import assert from "node:assert/strict";
import { createRedactor, getLog, setupLogging, withLogContext } from "../../src/log.ts";
import { resolveConfig } from "../../src/config.ts";

Deno.test("the redactor masks keys, bearer tokens and literal secrets", () => {
  const redact = createRedactor(["literal-secret-value"]);
  assert.equal(
    redact("key sk-abcdefghijklmnop and Bearer abc.def.ghi and literal-secret-value"),
    "key sk-[REDACTED] and Bearer [REDACTED] and [REDACTED]",
  );
  assert.equal(redact('{"api_key": "zzzzzzzz"}'), '{"api_key": "[REDACTED]"}');
  assert.equal(redact("nothing secret here"), "nothing secret here");
  assert.equal(
    redact("send `Authorization: Bearer <token>` with MCP_AUTH_TOKEN"),
    "send `Authorization: Bearer <token>` with MCP_AUTH_TOKEN",
    "a hint naming the header keeps its scheme",
  );
  assert.equal(redact("Authorization: Bearer abcdefgh"), "Authorization: Bearer [REDACTED]");
  assert.equal(redact("authorization=s3cr3t-value"), "authorization=[REDACTED]");
  assert.equal(redact("model oig_8oBi5Mz6pFtgKx5QEt9Wl2lNS3c0"), "model oig_[REDACTED]");
});

Deno.test("log listeners receive redacted records at or above the level", async () => {
  const config = resolveConfig({
    env: { LOG_LEVEL: "warning", LOG_FORMAT: "json", OPENAI_API_KEY: "sk-secret-123456789" },
  });
  const written: string[] = [];
  await using logging = await setupLogging(config, {
    write: (bytes) => written.push(new TextDecoder().decode(bytes)),
    isTerminal: false,
  });
  const heard: string[] = [];
  logging.addListener((_record, message) => heard.push(message));
  const log = getLog("test");
  withLogContext({ requestId: "r1" }, () => {
    log.info("quiet");
    log.warning("loud sk-secret-123456789");
  });
  assert.equal(written.length, 1);
  assert.equal(heard.length, 1);
  assert.ok(!heard[0].includes("sk-secret-123456789"));
  assert.ok(!written[0].includes("sk-secret-123456789"));
});
