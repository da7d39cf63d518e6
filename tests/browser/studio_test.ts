/**
 * The image studio (an MCP App) in a host written from the extension's specification, in
 * Chromium: the app shows a generation at full resolution fetched through the host's tool calls,
 * a mask painted over it goes to the upstream at the image's size with the painted pixels
 * transparent, and the edit appears beside the original — with no network request and no console
 * error from the app. The server side (links, app-only tools, the resource's type and CSP) is
 * checked through the same real MCP client.
 */
import assert from "node:assert/strict";
import axe from "axe-core";
import type { Page } from "playwright-core";
import sharp from "sharp";
import { STUDIO_URI } from "../../src/mcp/apps/mod.ts";
import { eventually } from "../support/eventually.ts";
import {
  APPS_CAPABILITIES,
  LOCAL,
  type Loose,
  openStudio,
  pictureSize,
  startStudioServer,
  type ToolEntry,
} from "./studio_support.ts";
import { hasChromium, launchBrowser } from "./support.ts";

/** Serious and critical axe violations inside the app's frame. */
async function axeScan(page: Page): Promise<string[]> {
  const frame = page.frames().find((f) => f !== page.mainFrame());
  assert.ok(frame, "the app's frame");
  // An inline script, which the host's CSP for the app allows ('unsafe-inline').
  await frame.addScriptTag({ content: (axe as unknown as { source: string }).source });
  const violations = await frame.evaluate(async () => {
    type Report = { violations: { id: string; impact: string | null; nodes: unknown[] }[] };
    const g = globalThis as unknown as {
      axe: { run(context: unknown, options: unknown): Promise<Report> };
      document: unknown;
    };
    const report = await g.axe.run(g.document, { resultTypes: ["violations"] });
    return report.violations.map((v) => ({ id: v.id, impact: v.impact, count: v.nodes.length }));
  });
  return violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.impact} ${v.id} (${v.count})`);
}

Deno.test({
  name: "the studio is linked from the image tools, and its reader is listed to apps clients only",
  async fn() {
    await using studio = await startStudioServer();
    const apps = await studio.connect(APPS_CAPABILITIES);
    const plain = await studio.connect({});
    const appsTools = (await apps.listTools()).tools as ToolEntry[];
    for (const name of ["generate_image", "edit_image", "get_image", "list_images"]) {
      const tool = appsTools.find((t) => t.name === name);
      assert.equal(tool?._meta?.ui?.resourceUri, STUDIO_URI, name);
    }
    const reader = appsTools.find((t) => t.name === "read_image_part");
    assert.deepEqual(reader?._meta?.ui?.visibility, ["app"]);
    const plainNames = ((await plain.listTools()).tools as ToolEntry[]).map((t) => t.name);
    assert.ok(plainNames.includes("generate_image"));
    assert.ok(!plainNames.includes("read_image_part"), "hidden from clients without apps");

    const read = await apps.readResource({ uri: STUDIO_URI });
    const content = read.contents[0] as Loose & { _meta?: { ui?: { csp?: Loose } } };
    assert.equal(content.mimeType, "text/html;profile=mcp-app");
    assert.deepEqual(content._meta?.ui?.csp, { connectDomains: [], resourceDomains: [] });
    assert.match(String(content.text), /^<!doctype html>/);
  },
});

Deno.test({
  name:
    "the studio shows a result at full size, and a painted mask reaches the upstream as an edit",
  ignore: !hasChromium(),
  async fn() {
    await using studio = await startStudioServer();
    const client = await studio.connect(APPS_CAPABILITIES);
    const input = { prompt: "a lighthouse at dusk", size: "1024x1536" };
    const result = await client.callTool({ name: "generate_image", arguments: input });
    assert.ok(!result.isError, JSON.stringify(result.content));
    const browser = await launchBrowser();
    try {
      const { page, frame, forwarded, seen } = await openStudio(browser, client, input, result);
      assert.deepEqual(
        await pictureSize(frame),
        [1024, 1536],
        "the full-size image, not a preview",
      );
      assert.ok(forwarded.includes("read_image_part"));
      assert.match(await frame.locator("#facts").innerText(), /a lighthouse at dusk/);
      assert.equal(await frame.locator("html").getAttribute("data-theme"), "dark", "the host's");
      assert.deepEqual(await axeScan(page), [], "accessible in the dark theme");
      await page.evaluate(() =>
        (globalThis as unknown as { setTheme(theme: string): void }).setTheme("light")
      );
      await eventually(
        async () => await frame.locator("html").getAttribute("data-theme") === "light",
        "the theme following the host's change",
      );

      // Keyboard: Z zooms to actual pixels and back.
      await frame.locator("#zoom").focus();
      await frame.locator("body").press("z");
      assert.equal(await frame.locator("#zoom").getAttribute("aria-pressed"), "true");
      await frame.locator("body").press("z");
      assert.equal(await frame.locator("#zoom").getAttribute("aria-pressed"), "false");

      // Paint a stroke across the middle and ask for an edit.
      await frame.locator("#edit-toggle").click();
      await frame.locator("#instruction").fill("add a red boat");
      assert.deepEqual(await axeScan(page), [], "accessible in the light theme, editing");
      const box = await frame.locator("#mask-layer").boundingBox();
      assert.ok(box);
      const y = box.y + box.height / 2;
      await page.mouse.move(box.x + box.width * 0.35, y);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width * 0.5, y, { steps: 5 });
      await page.mouse.move(box.x + box.width * 0.65, y, { steps: 5 });
      await page.mouse.up();
      await frame.locator("#apply-edit").click();
      await frame.locator(".variant").nth(1).waitFor();
      assert.equal(await frame.locator(".variant").count(), 2, "the edit beside the original");
      assert.ok(forwarded.includes("edit_image"));

      assert.equal(studio.masks.length, 1, "the upstream received one mask");
      const { data, info } = await sharp(studio.masks[0]).ensureAlpha().raw().toBuffer({
        resolveWithObject: true,
      });
      assert.deepEqual([info.width, info.height], [1024, 1536], "the mask has the image's size");
      const alpha = (x: number, yy: number) => data[(yy * info.width + x) * info.channels + 3];
      assert.equal(alpha(512, 768), 0, "painted pixels are transparent");
      assert.equal(alpha(10, 10), 255, "unpainted pixels are opaque");
      assert.equal(alpha(512, 100), 255, "above the stroke is opaque");

      assert.deepEqual(seen.requests, [], "no network request");
      assert.deepEqual(seen.errors, [], "no console error");
    } finally {
      await browser.close();
    }
  },
});

Deno.test({
  name:
    "the studio opens an older image from its browser, prices a variation, runs and cancels one",
  ignore: !hasChromium(),
  async fn() {
    await using studio = await startStudioServer();
    const client = await studio.connect(APPS_CAPABILITIES);
    const older = { prompt: "an old red barn", size: "1024x1024", quality: "low" };
    assert.ok(!(await client.callTool({ name: "generate_image", arguments: older })).isError);
    const input = { prompt: "a lighthouse at dusk", size: "1024x1536", quality: "low" };
    const result = await client.callTool({ name: "generate_image", arguments: input });
    const browser = await launchBrowser();
    try {
      const { frame, forwarded, seen } = await openStudio(browser, client, input, result);

      // Browse, search, open the older image.
      await frame.locator("#browse-toggle").click();
      await frame.locator("#browse-query").fill("barn");
      await frame.locator("#browse-search").click();
      await eventually(
        async () => await frame.locator("#browse-grid button").count() === 1,
        "one image matching barn",
      );
      await frame.locator("#browse-grid button").first().click();
      await eventually(
        async () => /an old red barn/.test(await frame.locator("#facts").innerText()),
        "the barn opened in the studio",
      );
      assert.deepEqual(await pictureSize(frame), [1024, 1024]);
      assert.ok(forwarded.includes("browse_images"));

      // A variation in another size: priced first, then run beside the original.
      await frame.locator("#variation-toggle").click();
      await eventually(
        async () => await frame.locator("#variation-run").isEnabled(),
        "the first price",
      );
      await frame.locator("#variation-size").selectOption("1536x1024");
      await eventually(
        async () =>
          forwarded.filter((name) => name === "quote_image").length === 2 &&
          await frame.locator("#variation-run").isEnabled(),
        "the variation priced",
      );
      const price = await frame.locator("#variation-price").innerText();
      assert.match(price, /^Price: at most \$\d+\.\d+$/);
      await frame.locator("#variation-run").click();
      await frame.locator(".variant").nth(1).waitFor();
      assert.equal(studio.core.fake.lastRequest?.fields?.size, "1536x1024");
      assert.deepEqual(await pictureSize(frame), [1536, 1024], "the variation is shown");

      // A generation that hangs upstream, cancelled from the studio.
      studio.core.fake.setFault({ fault: "hang", count: 1 });
      const before = studio.core.fake.requests.length;
      await frame.locator("#variation-run").click();
      await eventually(() => studio.core.fake.requests.length > before, "the upstream call");
      await eventually(
        async () =>
          /^Generating a variation… Generating · .* s elapsed$/.test(
            await frame.locator("#status").innerText(),
          ),
        "the server's progress, passed on by the host",
      );
      await frame.locator("#cancel-run").click();
      await eventually(
        () => studio.core.fake.requests.at(-1)?.outcome === "client_closed",
        "the upstream call abandoned",
      );
      assert.equal(await frame.locator("#status").innerText(), "Cancelled");
      assert.equal(await frame.locator(".variant").count(), 2, "nothing added");

      assert.deepEqual(seen.requests, [], "no network request");
      assert.deepEqual(seen.errors, [], "no console error");
    } finally {
      await browser.close();
    }
  },
});

Deno.test({
  name: "the studio downloads through the host, copies the link, and deletes only when it may",
  ignore: !hasChromium(),
  async fn() {
    const input = { prompt: "a lighthouse at dusk", quality: "low" };
    const browser = await launchBrowser();
    try {
      {
        await using studio = await startStudioServer();
        const client = await studio.connect(APPS_CAPABILITIES);
        const result = await client.callTool({ name: "generate_image", arguments: input });
        const { page, frame, seen } = await openStudio(browser, client, input, result);
        const id = (await frame.locator("#facts dd").first().innerText()).trim();
        const stored = await studio.core.services.images.read(id, {
          principal: LOCAL,
          door: "mcp",
        });
        assert.ok(stored);

        await frame.locator("#download").click();
        await eventually(
          async () =>
            await page.evaluate(() =>
              (globalThis as unknown as { downloads: unknown[] }).downloads.length
            ) === 1,
          "the download request",
        );
        const [download] = await page.evaluate(() =>
          (globalThis as unknown as { downloads: { contents: Loose[] }[] }).downloads
        );
        const resource = download.contents[0].resource as {
          uri: string;
          mimeType: string;
          blob: string;
        };
        assert.equal(resource.uri, `image://${id}`);
        assert.equal(resource.mimeType, stored.record.mime);
        assert.equal(resource.blob, stored.bytes.toBase64(), "the full image, byte for byte");

        await frame.locator("#copy-link").click();
        await eventually(
          async () => (await frame.locator("#status").innerText()).includes(`image://${id}`),
          "the link copied or shown",
        );

        await frame.locator("#delete").click();
        assert.equal(await frame.locator("#delete").innerText(), "Confirm delete");
        assert.ok(await studio.core.services.images.get(id, { principal: LOCAL, door: "mcp" }));
        await frame.locator("#delete").click();
        await eventually(
          async () => await frame.locator("#status").innerText() === `Deleted ${id}`,
          "the image deleted",
        );
        // Nothing is left to edit, vary or zoom: their keys do nothing.
        for (const key of ["e", "v", "z"]) await frame.locator("body").press(key);
        assert.equal(await frame.locator("#edit-form").isVisible(), false, "no edit form");
        assert.equal(await frame.locator("#variation").isVisible(), false, "no variation panel");
        assert.equal(await frame.locator("#zoom").getAttribute("aria-pressed"), "false");
        assert.equal(
          await studio.core.services.images.get(id, { principal: LOCAL, door: "mcp" }),
          null,
        );
        assert.deepEqual(seen.requests, [], "no network request");
        assert.deepEqual(seen.errors, [], "no console error");
      }
      {
        await using studio = await startStudioServer(fetch, { MCP_ALLOW_DELETE: "false" });
        const client = await studio.connect(APPS_CAPABILITIES);
        const result = await client.callTool({ name: "generate_image", arguments: input });
        const { frame } = await openStudio(browser, client, input, result, {
          width: 360,
          height: 800,
        });
        assert.equal(
          await frame.locator("#delete").isVisible(),
          false,
          "no delete_image, no Delete",
        );
        const [scrollWidth, clientWidth] = await frame.locator("html").evaluate((html) => {
          const element = html as unknown as { scrollWidth: number; clientWidth: number };
          return [element.scrollWidth, element.clientWidth];
        });
        assert.ok(scrollWidth <= clientWidth, `fits a 360 px column (${scrollWidth} px wide)`);
      }
    } finally {
      await browser.close();
    }
  },
});

Deno.test({
  name: "the studio waits for a generation that outran the tool's answer, then shows it",
  ignore: !hasChromium(),
  async fn() {
    await using studio = await startStudioServer(fetch, { MCP_LONG_JOB_SECONDS: "1" });
    const client = await studio.connect(APPS_CAPABILITIES);
    const browser = await launchBrowser();
    try {
      const input = { prompt: "a slow lighthouse [fault:latency=8000]", quality: "low" };
      const result = await client.callTool({ name: "generate_image", arguments: input });
      const pending = result.structuredContent as { status?: string };
      assert.equal(pending?.status, "pending", JSON.stringify(result.content));
      const { frame, seen } = await openStudio(browser, client, input, result);
      assert.equal(await frame.locator("#status").innerText(), "1 image");
      assert.match(await frame.locator("#facts").innerText(), /a slow lighthouse/);
      assert.deepEqual(seen.errors, [], "no console error");
    } finally {
      await browser.close();
    }
  },
});

Deno.test({
  name: "quote_image says a price is unknown instead of $0, with and without a price gate",
  async fn() {
    // A model of a gateway whose prices nobody published.
    const modelsFile = await Deno.makeTempFile({ suffix: ".json" });
    await Deno.writeTextFile(
      modelsFile,
      JSON.stringify({
        models: {
          "gateway-image": {
            extends: "gpt-image-2",
            prices: { checkedOn: null, source: "not published", tokens: null, perImage: null },
          },
        },
      }),
    );
    const envs: Record<string, string>[] = [
      { MODELS_FILE: modelsFile },
      { MODELS_FILE: modelsFile, MCP_CONFIRM_ABOVE_USD: "0.01" },
    ];
    for (const env of envs) {
      await using studio = await startStudioServer(fetch, env);
      const client = await studio.connect(APPS_CAPABILITIES);
      const unknown = await client.callTool({
        name: "quote_image",
        arguments: { prompt: "a lighthouse", model: "gateway-image" },
      });
      assert.ok(!unknown.isError, JSON.stringify(unknown.content));
      const quote = unknown.structuredContent as { max_usd: unknown; reason?: string };
      assert.equal(quote.max_usd, null, JSON.stringify([env, unknown]));
      assert.match(String(quote.reason), /unknown/);
      const known = await client.callTool({
        name: "quote_image",
        arguments: { prompt: "a lighthouse", quality: "low" },
      });
      const price = (known.structuredContent as { max_usd: unknown }).max_usd;
      assert.ok(typeof price === "number" && price > 0, JSON.stringify(env));
    }
    await Deno.remove(modelsFile);
  },
});

Deno.test({
  name: "the studio prices an edit beside Apply edit and confirms that price with it",
  ignore: !hasChromium(),
  async fn() {
    await using studio = await startStudioServer(fetch, { MCP_CONFIRM_ABOVE_USD: "0.001" });
    const client = await studio.connect(APPS_CAPABILITIES);
    const input = { prompt: "a lighthouse at dusk", quality: "low", confirm_price_usd: 5 };
    const result = await client.callTool({ name: "generate_image", arguments: input });
    assert.ok(!result.isError, JSON.stringify(result.content));
    const browser = await launchBrowser();
    try {
      const { page, frame, forwarded, seen } = await openStudio(browser, client, input, result);
      await frame.locator("#edit-toggle").click();
      await frame.locator("#instruction").fill("add a red boat");
      const box = await frame.locator("#mask-layer").boundingBox();
      assert.ok(box);
      await page.mouse.move(box.x + box.width * 0.4, box.y + box.height / 2);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2, { steps: 5 });
      await page.mouse.up();
      await eventually(
        async () =>
          /^Apply edit \(\$\d+\.\d+\)$/.test(await frame.locator("#apply-edit").innerText()),
        "the edit priced beside Apply edit",
      );
      assert.match(await frame.locator("#edit-price").innerText(), /^Price: at most \$\d+\.\d+$/);
      await frame.locator("#apply-edit").click();
      await frame.locator(".variant").nth(1).waitFor();
      assert.ok(forwarded.includes("edit_image"));
      assert.equal(studio.masks.length, 1, "the edit, with its mask, reached the upstream");
      assert.deepEqual(seen.errors, [], "no console error");
    } finally {
      await browser.close();
    }
  },
});

Deno.test({
  name: "a list_images result opens the browser, with or without toolInfo, loading no image",
  ignore: !hasChromium(),
  async fn() {
    await using studio = await startStudioServer(fetch, { IMAGE_GENERATION_RATE_LIMIT: "100" });
    const client = await studio.connect(APPS_CAPABILITIES);
    for (let i = 0; i < 3; i++) {
      const made = await client.callTool({
        name: "generate_image",
        arguments: { prompt: `lighthouse ${i}`, quality: "low", n: 4 },
      });
      assert.ok(!made.isError, JSON.stringify(made.content));
    }
    const result = await client.callTool({ name: "list_images", arguments: { limit: 12 } });
    const browser = await launchBrowser();
    try {
      for (const toolName of [undefined, "list_images"]) {
        const { frame, forwarded, seen } = await openStudio(
          browser,
          client,
          { limit: 12 },
          result,
          undefined,
          "dark",
          { toolName, shown: "#browse-grid button >> nth=0" },
        );
        assert.equal(await frame.locator("#status").innerText(), "Recent images", toolName);
        assert.equal(await frame.locator("#studio").getAttribute("aria-busy"), "false");
        assert.ok(!forwarded.includes("read_image_part"), `no image loaded (${toolName})`);
        assert.deepEqual(seen.errors, [], "no console error");
      }
      // Any other result naming many images: only the first ten are loaded.
      const links = result.content as Loose[];
      const many = { content: [{ type: "text", text: "Twelve images" }, ...links.slice(1)] };
      const { frame } = await openStudio(browser, client, {}, many);
      await eventually(
        async () => await frame.locator("#status").innerText() === "10 images",
        "ten images shown",
      );
      assert.equal(await frame.locator(".variant").count(), 10);
    } finally {
      await browser.close();
    }
  },
});
