/**
 * The upstream is untrusted: a broken or hostile OpenAI-compatible server's undecodable images are
 * a 502 (its fault, not this service's), its extra images are not stored, and its impossible usage
 * figures are not billed. The real HTTP service in this process against the fake upstream.
 */
import assert from "node:assert/strict";
import { connectMcp, startInProcessService } from "./support/in_process.ts";

/** The SDK's client schedules reconnection timers it does not always clear (see remote_mcp_test). */
function sdkClientTest(name: string, fn: () => Promise<void>) {
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
}

function generate(url: string, key: string, body: Record<string, unknown>): Promise<Response> {
  return fetch(`${url}/v1/images/generations`, {
    method: "POST",
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
    body: JSON.stringify({ quality: "low", size: "1024x1024", ...body }),
  });
}

async function catalogCount(url: string, key: string): Promise<number> {
  const response = await fetch(`${url}/v1/images?limit=100`, {
    headers: { Authorization: `Bearer ${key}` },
  });
  const body = await response.json();
  assert.equal(response.status, 200, JSON.stringify(body));
  return body.data.length;
}

sdkClientTest(
  "an undecodable upstream image is a 502 in every HTTP door and nothing is stored",
  async () => {
    await using service = await startInProcessService();
    const key = service.keys.alice;
    const v1 = await generate(service.url, key, { prompt: "a fox [fault:undecodable_image]" });
    const v1Body = await v1.json();
    assert.equal(v1.status, 502, JSON.stringify(v1Body));
    assert.match(v1Body.error.message, /not a PNG image/);

    const rest = await fetch(`${service.url}/mcp`, {
      method: "POST",
      headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
      body: JSON.stringify({ prompt: "a fox [fault:undecodable_image]", quality: "low" }),
    });
    const restBody = await rest.json();
    assert.equal(rest.status, 502, JSON.stringify(restBody));
    assert.equal(restBody.success, false);

    await using session = await connectMcp(service.url, key);
    const result = await session.client.callTool({
      name: "generate_image",
      arguments: { prompt: "a fox [fault:undecodable_image]", quality: "low" },
    }) as { isError?: boolean; content: { type: string; text?: string }[] };
    assert.equal(result.isError, true);
    assert.match(result.content[0].text ?? "", /^Error \(upstream_unavailable\)/);
    assert.equal(await catalogCount(service.url, key), 0);
  },
);

sdkClientTest(
  "extra upstream images are not stored and impossible usage is not billed",
  async () => {
    await using service = await startInProcessService();
    const key = service.keys.alice;
    const extra = await generate(service.url, key, {
      prompt: "a fox [fault:extra_images=4]",
      n: 1,
    });
    const extraBody = await extra.json();
    assert.equal(extra.status, 200, JSON.stringify(extraBody));
    assert.equal(extraBody.data.length, 1);
    assert.equal(service.fake.stats.imagesProduced, 5, "the upstream sent 5");
    assert.equal(await catalogCount(service.url, key), 1);

    const absurd = await generate(service.url, key, { prompt: "an owl [fault:absurd_usage]" });
    const absurdBody = await absurd.json();
    assert.equal(absurd.status, 200, JSON.stringify(absurdBody));
    const list = await fetch(`${service.url}/v1/images?limit=1`, {
      headers: { Authorization: `Bearer ${key}` },
    }).then((r) => r.json());
    const cost = list.data[0].cost_usd;
    assert.equal(list.data[0].prompt, "an owl [fault:absurd_usage]");
    assert.ok(cost === null || (Number.isFinite(cost) && cost >= 0 && cost < 1), `cost ${cost}`);
    assert.ok(
      service.logs().some((line) => /does not believe/.test(line)),
      "the refused usage was logged",
    );
  },
);
