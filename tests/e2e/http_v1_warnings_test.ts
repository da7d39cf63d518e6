/**
 * End-to-end: `/v1` reports what the other doors report as warnings — a retired model translated
 * under `LEGACY_MODELS=translate` — in an `X-Warning` response header (OpenAI's body has no place
 * for it) and a log line, for JSON answers, server-sent event streams and multipart edits. The
 * official `openai` SDK is the client.
 *
 * @module
 */
import assert from "node:assert/strict";
import OpenAI, { toFile } from "openai";
import { WARNING_HEADER } from "../../src/http/routes/v1.ts";
import { withHttpService } from "./support/http_server.ts";

const ENV = { IMAGE_GENERATION_RATE_LIMIT: "1000", LOG_LEVEL: "info" };

const TRANSLATED =
  /^Model "dall-e-3" was retired on \d{4}-\d{2}-\d{2}: the request was translated to "gpt-image-2"/;

function client(url: string): OpenAI {
  // Auth is off: the SDK insists on some key, the service ignores it.
  return new OpenAI({ baseURL: `${url}/v1`, apiKey: "not-needed", maxRetries: 0 });
}

/** The warnings of a response, one per header line. */
function warningsOf(response: Response): string[] {
  const value = response.headers.get(WARNING_HEADER);
  // Several headers of one name read back joined with ", "; each warning starts a sentence.
  return value === null ? [] : value.split(/, (?=[A-Z])/);
}

Deno.test("/v1 reports a translated retired model in an X-Warning header and a log line", async () => {
  await withHttpService(ENV, async ({ server }) => {
    const sdk = client(server.url);
    const { data, response } = await sdk.images.generate({
      model: "dall-e-3",
      prompt: "a lighthouse",
    }).withResponse();
    assert.equal(data.data?.length, 1, "the translated request made its image");
    const warnings = warningsOf(response);
    assert.ok(warnings.some((w) => TRANSLATED.test(w)), JSON.stringify(warnings));
    const logged = server.stderr().split("\n").filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line))
      .filter((record) => record.properties?.path === "/v1/images/generations");
    assert.equal(logged.length, 1, server.stderr().slice(-4000));
    assert.equal(logged[0].level, "WARN");
    assert.match(logged[0].properties.warning, TRANSLATED);
    assert.equal(logged[0].properties.principal, "ip:127.0.0.1");

    const current = await sdk.images.generate({ model: "gpt-image-2", prompt: "a lighthouse" })
      .withResponse();
    assert.equal(current.response.headers.get(WARNING_HEADER), null, "no warning, no header");
  });
});

Deno.test("/v1 streams and edits carry the X-Warning header too", async () => {
  await withHttpService(ENV, async ({ server }) => {
    const stream = await fetch(`${server.url}/v1/images/generations`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        model: "dall-e-3",
        prompt: "a lighthouse",
        stream: true,
        partial_images: 1,
      }),
    });
    assert.equal(stream.headers.get("content-type")?.split(";")[0], "text/event-stream");
    assert.ok(warningsOf(stream).some((w) => TRANSLATED.test(w)));
    assert.match(await stream.text(), /image_generation\.completed/);

    const sdk = client(server.url);
    const made = await sdk.images.generate({ prompt: "a blue square", quality: "low" });
    const source = Uint8Array.fromBase64(made.data![0].b64_json!);
    const edited = await sdk.images.edit({
      model: "dall-e-2",
      image: await toFile(source, "square.png", { type: "image/png" }),
      prompt: "make it green",
    }).withResponse();
    assert.equal(edited.data.data?.length, 1);
    assert.ok(
      warningsOf(edited.response).some((w) => /^Model "dall-e-2" was retired/.test(w)),
      JSON.stringify(warningsOf(edited.response)),
    );
  });
});
