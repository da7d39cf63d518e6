/**
 * Screenshots of the image studio (the MCP App) for MCP_SETUP.md: in a desktop-width chat column
 * (720 px, light, with a variation beside the original; dark, painting a mask) and a narrow one
 * (380 px). Writes `docs/screenshots/studio-*.png`.
 *
 * Runs the real core and MCP server in this process and the studio in the browser tests' host
 * harness, with Debian's Chromium; generations are painted by the gallery screenshots' stand-in
 * upstream.
 *
 *   deno task screenshots:studio
 *
 * @module
 */
import type { FrameLocator, Page } from "playwright-core";
import { hasChromium, launchBrowser } from "../tests/browser/support.ts";
import {
  APPS_CAPABILITIES,
  openStudio,
  startStudioServer,
} from "../tests/browser/studio_support.ts";
import { paintingUpstream } from "./screenshots.ts";

const OUT_DIR = new URL("../docs/screenshots/", import.meta.url);
/** A desktop-width chat column. */
const COLUMN = { width: 720, height: 900 };

/** The host page grown to the app's full height, so every part of the frame is painted. */
async function shot(page: Page, name: string): Promise<void> {
  await page.evaluate(() =>
    (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0)
  );
  const box = await page.locator("iframe").boundingBox();
  const width = page.viewportSize()?.width ?? 720;
  if (box) await page.setViewportSize({ width, height: Math.ceil(box.y + box.height) });
  await page.waitForTimeout(500);
  await page.screenshot({ path: new URL(`${name}.png`, OUT_DIR).pathname });
  console.log(`docs/screenshots/${name}.png`);
}

/** Waits until the studio shows `count` images. */
async function variants(frame: FrameLocator, count: number): Promise<void> {
  await frame.locator(".variant").nth(count - 1).waitFor();
}

async function main(): Promise<void> {
  if (!hasChromium()) throw new Error("No Chromium: set CHROMIUM_PATH or install chromium");
  await using studio = await startStudioServer(paintingUpstream());
  const client = await studio.connect(APPS_CAPABILITIES);
  const input = { prompt: "a quiet harbour at dusk, boats on still water", quality: "medium" };
  const result = await client.callTool({ name: "generate_image", arguments: input });
  // Headless Chromium paints an out-of-process (sandboxed, opaque-origin) iframe blank in
  // screenshots; in-process frames show what a person sees.
  const browser = await launchBrowser(["--disable-features=site-per-process,IsolateOrigins"]);
  try {
    const desktop = await openStudio(browser, client, input, result, COLUMN, "light");
    await desktop.frame.locator("#variation-toggle").click();
    await desktop.frame.locator("#variation-size").selectOption("1536x1024");
    await desktop.frame.locator("#variation-run:not([disabled])").waitFor();
    await desktop.frame.locator("#variation-run").click();
    await variants(desktop.frame, 2);
    await desktop.frame.locator("#variation-quality").selectOption("high");
    await desktop.frame.locator("#variation-run:not([disabled])").waitFor();
    await shot(desktop.page, "studio-desktop");

    const dark = await openStudio(browser, client, input, result, COLUMN, "dark");
    await dark.frame.locator("#edit-toggle").click();
    await dark.frame.locator("#instruction").fill("put a red sail on the nearest boat");
    const box = await dark.frame.locator("#mask-layer").boundingBox();
    if (!box) throw new Error("No mask layer");
    await dark.page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.7);
    await dark.page.mouse.down();
    await dark.page.mouse.move(box.x + box.width * 0.45, box.y + box.height * 0.62, { steps: 8 });
    await dark.page.mouse.move(box.x + box.width * 0.55, box.y + box.height * 0.72, { steps: 8 });
    await dark.page.mouse.up();
    await shot(dark.page, "studio-desktop-dark");

    const narrow = await openStudio(browser, client, input, result, {
      width: 380,
      height: 800,
    }, "light");
    await shot(narrow.page, "studio-narrow");
  } finally {
    await browser.close();
  }
}

if (import.meta.main) await main();
