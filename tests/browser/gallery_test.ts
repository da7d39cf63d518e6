/**
 * The gallery in a real browser (Debian's Chromium through playwright-core): generating with live
 * progress, the detail view, search, signing in and deleting, failures, browsing without
 * JavaScript, and an accessibility scan. Any console error in any page fails the test.
 *
 * @module
 */
import type { Caller } from "../../src/core_types.ts";
import { LOCAL_PRINCIPAL } from "../../src/core/policy.ts";
import assert from "node:assert/strict";
import axe from "axe-core";
import type { Browser, BrowserContext, BrowserContextOptions, Page } from "playwright-core";
import { createApiKey } from "../../src/auth/mod.ts";
import {
  type GalleryServer,
  hasChromium,
  launchBrowser,
  seedImage,
  startGalleryServer,
  withinDeadline,
} from "./support.ts";
import { modelWhere, pinnedClock } from "../support/pinned_time.ts";
import { systemClock } from "../../src/clock.ts";

const ADMIN: Caller = { principal: LOCAL_PRINCIPAL, door: "mcp" };

const ignore = !hasChromium();
if (ignore) {
  console.error("Browser tests skipped: no Chromium (set CHROMIUM_PATH or install chromium)");
}

/**
 * The page's globals, typed just enough for the code these tests run inside the page (the test's
 * own type environment has no DOM). Used only inside functions passed to `page.evaluate` and
 * `page.waitForFunction`, which are sent to the page as source text: they may not use anything
 * from this module's scope.
 */
interface PageGlobals {
  document: {
    querySelector(selector: string): { textContent: string | null; naturalWidth?: number } | null;
  };
  navigator: { clipboard: { readText(): Promise<string> } };
  axe: {
    run(context: unknown, options: unknown): Promise<{
      violations: { id: string; impact: string | null; nodes: { target: unknown }[] }[];
    }>;
  };
}

/** Whether the first element matching `selector` is a loaded image (runs in the page). */
function imageLoaded(selector: string): boolean {
  const image = (globalThis as unknown as PageGlobals).document.querySelector(selector);
  return (image?.naturalWidth ?? 0) > 0;
}

/** Bounded waits: generous for a loaded 2-core CI machine, never open-ended. */
const WAIT = { timeout: 30_000 };

interface Session {
  readonly browser: Browser;
  readonly context: BrowserContext;
  readonly page: Page;
  /** Console errors and uncaught page errors seen so far. */
  readonly errors: string[];
  /** Every URL the browser requested. */
  readonly urls: string[];
}

async function openBrowser(options: BrowserContextOptions = {}): Promise<Session> {
  const browser = await launchBrowser();
  try {
    const context = await browser.newContext({
      viewport: { width: 1280, height: 800 },
      ...options,
    });
    const errors: string[] = [];
    const urls: string[] = [];
    const watch = (page: Page) => {
      page.on("console", (message) => {
        if (message.type() === "error") errors.push(`console: ${message.text()}`);
      });
      page.on("pageerror", (error) => errors.push(`page error: ${error.message}`));
      page.on("request", (request) => urls.push(request.url()));
    };
    context.on("page", watch);
    const page = await context.newPage();
    return { browser, context, page, errors, urls };
  } catch (error) {
    await browser.close();
    throw error;
  }
}

async function withGallery(
  options: Parameters<typeof startGalleryServer>[0] & { context?: BrowserContextOptions },
  body: (server: GalleryServer, session: Session) => Promise<void>,
): Promise<void> {
  const { context, ...serverOptions } = options;
  const server = await startGalleryServer(serverOptions);
  try {
    const session = await openBrowser(context);
    try {
      await withinDeadline("the browser session", 240_000, () => body(server, session));
      assert.deepEqual(session.errors, [], "the browser console stayed free of errors");
    } finally {
      await withinDeadline("closing the browser", 30_000, () => session.browser.close());
    }
  } finally {
    await server.close();
  }
}

async function axeScan(page: Page): Promise<string[]> {
  await page.addScriptTag({ content: (axe as unknown as { source: string }).source });
  const results = await page.evaluate(async () => {
    const report = await (globalThis as unknown as PageGlobals).axe.run(
      (globalThis as unknown as PageGlobals).document,
      { resultTypes: ["violations"] },
    );
    return report.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      targets: v.nodes.slice(0, 3).map((n) => JSON.stringify(n.target)),
    }));
  });
  return results
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.impact} ${v.id}: ${v.targets.join(", ")}`);
}

Deno.test({
  name: "generating through the form shows live progress and then the image in the grid",
  ignore,
  fn: () =>
    withGallery({ fake: { streamIntervalMs: 1500 } }, async (server, { page }) => {
      const prompt = "A lighthouse on a rocky coast at dusk, oil painting";
      await page.goto(`${server.baseUrl}/generate`);
      await page.fill("#prompt", prompt);
      await page.selectOption("#quality", "low");
      await page.selectOption("#partial_images", "2");
      await page.click("button[type=submit]");
      await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/, WAIT);
      assert.equal(await page.textContent("h1"), "Generating…");
      // Elapsed time ticks while the upstream is still streaming.
      await page.waitForFunction(
        () =>
          /^[1-9]\d* s$/.test(
            (globalThis as unknown as PageGlobals).document.querySelector("[data-elapsed]")
              ?.textContent ?? "",
          ),
        null,
        WAIT,
      );
      // A partial preview arrives over the event stream before the final image.
      await page.waitForSelector("[data-partials] img[data-index]", { state: "attached", ...WAIT });
      const partialSrc = await page.getAttribute("[data-partials] img[data-index]", "src");
      assert.match(partialSrc ?? "", /^data:image\/png;base64,/);
      // Then the page shows the result.
      await page.waitForSelector("[data-job-state=succeeded]", WAIT);
      assert.equal(await page.textContent("h1"), "Your image is ready");
      await page.click("text=See it in the gallery");
      await page.waitForURL(`${server.baseUrl}/`, WAIT);
      const card = page.locator(".card img").first();
      assert.equal(await card.getAttribute("alt"), prompt);
      assert.equal(await card.getAttribute("loading"), "lazy");
      await page.waitForFunction(imageLoaded, ".card img", WAIT);
      assert.equal(server.fake.lastRequest?.fields?.partial_images, 2);
    }),
});

Deno.test({
  name: "the detail view shows the image, prompt, parameters, cost, download, copy link and edit",
  ignore,
  fn: () =>
    withGallery(
      { context: { permissions: ["clipboard-read", "clipboard-write"] } },
      async (server, { page }) => {
        const prompt = "A cat astronaut floating above the moon";
        const id = await seedImage(server.services, { prompt, size: "1536x1024", quality: "low" });
        const record = (await server.services.images.get(id, ADMIN))!;
        await page.goto(server.baseUrl);
        await page.click(`a.thumb[href="/gallery/${id}"]`);
        await page.waitForURL(`${server.baseUrl}/gallery/${id}`, WAIT);
        assert.equal(await page.textContent("h1"), "Image details");
        assert.equal(await page.textContent(".prompt-text"), prompt);
        const full = page.locator(".viewer img");
        assert.equal(await full.getAttribute("alt"), prompt);
        assert.equal(await full.getAttribute("width"), "1536");
        const details = await page.textContent(".props");
        for (const expected of ["Model", "gpt-image-2", "Quality", "low", "Cost", "Tokens", id]) {
          assert.ok(details?.includes(expected), `details mention ${expected}`);
        }
        const download = page.locator("a", { hasText: "Download" });
        assert.equal(await download.getAttribute("download"), record.fileName);
        assert.equal(await download.getAttribute("href"), `/images/${record.fileName}`);
        // Copy link puts the absolute image URL on the clipboard.
        await page.click("button[data-copy-target]");
        await page.waitForSelector("text=Link copied to the clipboard", WAIT);
        const copied = await page.evaluate(() =>
          (globalThis as unknown as PageGlobals).navigator.clipboard.readText()
        );
        assert.equal(copied, `${server.baseUrl}/images/${record.fileName}`);
        // Edit this image: a job with this image as input.
        await page.fill("#edit-prompt", "Make it night time");
        await page.click("text=Start edit");
        await page.waitForSelector("[data-job-state=succeeded]", WAIT);
        const edit = server.fake.lastRequest;
        assert.match(edit?.path ?? "", /\/images\/edits$/);
        const inputs = edit?.fields?.["image[]"] ?? edit?.fields?.image;
        assert.equal([inputs].flat().filter((i) => i !== undefined).length, 1);
      },
    ),
});

Deno.test({
  name: "search and the model filter narrow the grid",
  ignore,
  fn: () =>
    withGallery({}, async (server, { page }) => {
      await seedImage(server.services, { prompt: "A lighthouse at dusk", quality: "low" });
      await seedImage(server.services, { prompt: "A bowl of ramen, studio photo", quality: "low" });
      await seedImage(server.services, {
        prompt: "A cat astronaut",
        quality: "low",
        model: "gpt-image-2.5-sunburst",
      });
      await page.goto(server.baseUrl);
      assert.equal(await page.locator(".card").count(), 3);
      await page.fill("#q", "RAMEN");
      await page.click("text=Apply filters");
      await page.waitForURL(/\?q=RAMEN/, WAIT);
      assert.deepEqual(
        await page.locator(".card img").evaluateAll((els) =>
          els.map((el) => el.getAttribute("alt"))
        ),
        ["A bowl of ramen, studio photo"],
      );
      await page.click("text=Clear");
      await page.waitForURL(`${server.baseUrl}/`, WAIT);
      await page.selectOption("#filter-model", "gpt-image-2.5-sunburst");
      await page.click("text=Apply filters");
      await page.waitForURL(/model=gpt-image-2\.5-sunburst/, WAIT);
      assert.deepEqual(
        await page.locator(".card img").evaluateAll((els) =>
          els.map((el) => el.getAttribute("alt"))
        ),
        ["A cat astronaut"],
      );
      await page.fill("#q", "nothing like this");
      await page.click("text=Apply filters");
      await page.waitForSelector("text=No images match", WAIT);
    }),
});

Deno.test({
  name:
    "signing in with a key makes a session; a user may not open another's image; an admin deletes after confirming",
  ignore,
  fn: () => {
    const token = "gallery-admin-token-0123456789";
    return withGallery({ env: { MCP_AUTH_TOKEN: token } }, async (server, session) => {
      const { page, context } = session;
      const { key: userKey } = await createApiKey(server.kv, {
        name: "Robin",
        role: "user",
        now: systemClock,
      });
      const id = await seedImage(server.services, { prompt: "A red kite", quality: "low" });
      // Images are public by default: browsing works signed out, generating needs a session.
      await page.goto(server.baseUrl);
      assert.equal(await page.locator(".card").count(), 1);
      await page.goto(`${server.baseUrl}/generate`);
      await page.waitForURL(/\/login\?next=%2Fgenerate$/, WAIT);
      // A user key signs in, but sees no delete control.
      await page.fill("#key", userKey);
      await page.click("button[type=submit]");
      await page.waitForURL(`${server.baseUrl}/generate`, WAIT);
      assert.ok((await page.textContent(".account"))?.includes("Robin"));
      const cookie = (await context.cookies()).find((c) => c.name === "gallery_session");
      assert.ok(cookie, "a session cookie is set");
      assert.equal(cookie.httpOnly, true);
      assert.equal(cookie.sameSite, "Strict");
      // The image is the admin's: a user's key reads its own images only (docs/authorization.md).
      const refused = await page.goto(`${server.baseUrl}/gallery/${id}`);
      assert.equal(refused?.status(), 403);
      assert.equal(await page.locator("summary", { hasText: "Delete" }).count(), 0);
      const expected = session.errors.findIndex((e) => e.includes("status of 403"));
      assert.ok(expected >= 0, "the browser saw the refusal");
      session.errors.splice(expected, 1);
      await page.goto(`${server.baseUrl}/generate`);
      await page.click("text=Sign out");
      await page.waitForSelector("text=You are signed out.", WAIT);
      // The admin token signs in and deletes after confirming.
      await page.goto(`${server.baseUrl}/login?next=/gallery/${id}`);
      await page.fill("#key", token);
      await page.click("button[type=submit]");
      await page.waitForURL(`${server.baseUrl}/gallery/${id}`, WAIT);
      const confirm = page.locator("text=Delete permanently");
      assert.equal(await confirm.isVisible(), false, "delete needs the disclosure opened first");
      await page.click("summary:has-text('Delete this image')");
      await confirm.click();
      await page.waitForURL(`${server.baseUrl}/?notice=deleted`, WAIT);
      await page.waitForSelector("text=The image was deleted.", WAIT);
      assert.equal(await page.locator(".card").count(), 0);
      assert.equal(await server.services.images.get(id, ADMIN), null);
      // No key ever travelled in a URL.
      for (const url of session.urls) {
        assert.ok(!url.includes(token) && !url.includes(userKey), `no key in ${url}`);
      }
    });
  },
});

Deno.test({
  name: "a generation refused by moderation shows what happened and what to do",
  ignore,
  fn: () =>
    withGallery({}, async (server, { page }) => {
      await page.goto(`${server.baseUrl}/generate`);
      await page.fill("#prompt", "[fault:moderation] something the filter refuses");
      await page.click("button[type=submit]");
      await page.waitForSelector("[data-job-state=failed]", WAIT);
      assert.equal(await page.textContent("h1"), "The image could not be made");
      assert.equal(
        await page.getAttribute(".alert[role=alert]", "data-error-kind"),
        "moderation_blocked",
      );
      assert.ok((await page.textContent(".alert"))?.includes("Blocked by content moderation"));
      assert.ok((await page.textContent(".alert"))?.includes("Rephrase the prompt"));
    }),
});

Deno.test({
  name: "without JavaScript the grid, the detail page and a generation all work",
  ignore,
  fn: () =>
    withGallery(
      { context: { javaScriptEnabled: false }, fake: { latencyMs: 1500 } },
      async (server, { page }) => {
        const id = await seedImage(server.services, { prompt: "A quiet harbour", quality: "low" });
        await page.goto(server.baseUrl);
        await page.waitForFunction(imageLoaded, ".card img", WAIT);
        await page.click(`a.thumb[href="/gallery/${id}"]`);
        await page.waitForURL(`${server.baseUrl}/gallery/${id}`, WAIT);
        assert.equal(await page.textContent(".prompt-text"), "A quiet harbour");
        // The copy button needs the script; the link is shown in a field instead.
        assert.equal(await page.locator("button[data-copy-target]").isVisible(), false);
        assert.equal(await page.inputValue("#share-link"), `${server.baseUrl}/images/${id}.png`);
        // All of the default model's options are rendered by the server.
        await page.goto(`${server.baseUrl}/generate`);
        const sizes = await page.locator("#size option").evaluateAll((els) =>
          els.map((el) => el.getAttribute("value"))
        );
        assert.deepEqual(sizes, ["1024x1024", "1536x1024", "1024x1536", "auto"]);
        await page.fill("#prompt", "A paper boat on a puddle");
        await page.click("button[type=submit]");
        await page.waitForURL(/\/jobs\//, WAIT);
        await page.waitForSelector("[data-job-state=running]", { state: "attached", ...WAIT });
        // The page refreshes itself until the image is ready.
        await page.waitForSelector("[data-job-state=succeeded]", WAIT);
        assert.equal(await page.textContent("h1"), "Your image is ready");
      },
    ),
});

Deno.test({
  name: "choosing another model swaps the form's options to what that model accepts",
  ignore,
  fn: () =>
    // Which models are offered depends on the day: judge it on a pinned one.
    withGallery({ now: pinnedClock }, async (server, { page }) => {
      const listedSizesOnly = modelWhere({ where: (m) => m.sizeRule === null });
      await page.goto(`${server.baseUrl}/generate`);
      assert.equal(await page.isVisible("#size_custom"), true, "gpt-image-2 takes any WxH");
      const qualities = () =>
        page.locator("#quality option").evaluateAll((els) =>
          els.map((el) => el.getAttribute("value"))
        );
      assert.deepEqual(await qualities(), ["low", "medium", "high", "auto"]);
      await page.selectOption("#model", "gpt-image-2.5-sunburst");
      assert.ok((await qualities()).includes("xhigh"));
      await page.selectOption("#model", listedSizesOnly.id);
      assert.equal(
        await page.isVisible("#size_custom"),
        false,
        `${listedSizesOnly.id} has listed sizes`,
      );
      assert.equal(await page.isDisabled("#size_custom"), true);
    }),
});

Deno.test({
  name: "axe finds no serious or critical accessibility violation, in light and dark",
  ignore,
  fn: () =>
    withGallery({
      env: { MCP_AUTH_TOKEN: "gallery-axe-token-0123456789" },
      // axe is injected as an inline script, which the gallery's own CSP rightly forbids.
      context: { bypassCSP: true },
    }, async (server, s) => {
      const { page } = s;
      const id = await seedImage(server.services, { prompt: "A forest in fog", quality: "low" });
      await seedImage(server.services, { prompt: "A city at night", quality: "low" });
      await page.goto(`${server.baseUrl}/login`);
      await page.fill("#key", "gallery-axe-token-0123456789");
      await page.click("button[type=submit]");
      await page.waitForURL(`${server.baseUrl}/`, WAIT);
      const failures: string[] = [];
      for (const scheme of ["light", "dark"] as const) {
        await page.emulateMedia({ colorScheme: scheme });
        for (const path of ["/", `/gallery/${id}`, "/generate", `/jobs/${id}`, "/?q=zzz"]) {
          await page.goto(`${server.baseUrl}${path}`);
          for (const v of await axeScan(page)) failures.push(`${scheme} ${path}: ${v}`);
        }
      }
      await page.click("text=Sign out");
      await page.goto(`${server.baseUrl}/login`);
      for (const v of await axeScan(page)) failures.push(`login: ${v}`);
      assert.deepEqual(failures, []);
    }),
});

Deno.test({
  name: "pages fit a phone's width and the keyboard reaches the skip link first",
  ignore,
  fn: () =>
    withGallery(
      { context: { viewport: { width: 390, height: 844 } } },
      async (server, { page }) => {
        const id = await seedImage(server.services, {
          prompt: "A very long prompt about a lighthouse on a rocky coast at dusk with warm light",
          size: "1536x1024",
          quality: "low",
        });
        for (const path of ["/", `/gallery/${id}`, "/generate", `/jobs/${id}`]) {
          await page.goto(`${server.baseUrl}${path}`);
          const widths = await page.evaluate(() => {
            const root = (globalThis as unknown as {
              document: { documentElement: { scrollWidth: number; clientWidth: number } };
            }).document.documentElement;
            return [root.scrollWidth, root.clientWidth];
          });
          assert.ok(widths[0] <= widths[1], `${path} scrolls sideways: ${widths.join(" > ")}`);
        }
        await page.goto(server.baseUrl);
        await page.keyboard.press("Tab");
        const focused = page.locator(":focus");
        assert.equal(await focused.textContent(), "Skip to content");
        await page.keyboard.press("Enter");
        assert.equal(await page.locator(":focus").getAttribute("id"), "main");
      },
    ),
});
