/**
 * Screenshots of the web gallery for the README: the grid, the detail view, the generate form
 * and a generation in progress, at desktop (1280x800) and phone (390x844) widths, light and dark.
 * Writes `docs/screenshots/*.png`.
 *
 * Runs the real gallery and services on loopback with Debian's Chromium. Image generations are
 * answered by a small stand-in upstream that paints landscape scenes (so the pictures look like
 * pictures); the in-progress view streams from the fake OpenAI used by the tests.
 *
 *   deno task screenshots
 *
 * @module
 */
import sharp from "sharp";
import { LOCAL_PRINCIPAL } from "../src/core/policy.ts";
import type { Page } from "playwright-core";
import {
  hasChromium,
  launchBrowser,
  seedImage,
  startGalleryServer,
} from "../tests/browser/support.ts";

const OUT_DIR = new URL("../docs/screenshots/", import.meta.url);

interface Palette {
  sky: [string, string, string];
  sun: string;
  layers: [string, string, string, string];
  stars?: boolean;
  water?: boolean;
  city?: boolean;
}

const PALETTES: Record<string, Palette> = {
  dusk: {
    sky: ["#2b1b4a", "#b5477a", "#f7a35c"],
    sun: "#ffd89b",
    layers: ["#8a3f6b", "#5c2d5a", "#3a1f45", "#1d1030"],
    water: true,
  },
  night: {
    sky: ["#040815", "#0f2447", "#23507a"],
    sun: "#f2f5ff",
    layers: ["#1c3558", "#142844", "#0d1b30", "#070f1d"],
    stars: true,
  },
  forest: {
    sky: ["#a8d8e0", "#d7efe6", "#f4f1d0"],
    sun: "#fff6d5",
    layers: ["#7fb08a", "#4f8a63", "#2f6447", "#17402c"],
  },
  desert: {
    sky: ["#f6c177", "#f4a259", "#e76f51"],
    sun: "#fff1c1",
    layers: ["#e9a96b", "#d4874d", "#b0643a", "#7f4428"],
  },
  arctic: {
    sky: ["#cfe8f7", "#e8f4fb", "#ffffff"],
    sun: "#ffffff",
    layers: ["#b7d3e8", "#8fb5d3", "#6a93b8", "#3f6b93"],
    water: true,
  },
  neon: {
    sky: ["#0b0221", "#3a0b52", "#b8327a"],
    sun: "#ff9ad5",
    layers: ["#29114d", "#1d0b3a", "#14072b", "#0a0318"],
    city: true,
    stars: true,
  },
  ocean: {
    sky: ["#0c4a6e", "#2a9bb8", "#9be3df"],
    sun: "#fff8dc",
    layers: ["#2c7a8c", "#1f5f73", "#15485a", "#0b2f3e"],
    water: true,
  },
  autumn: {
    sky: ["#f3d9b1", "#f0b67f", "#d96c4f"],
    sun: "#fff3d6",
    layers: ["#c0603c", "#9c4a33", "#723628", "#40201a"],
  },
};

/** A seeded pseudo-random number generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

function paletteFor(prompt: string): Palette {
  const text = prompt.toLowerCase();
  const pairs: [string, string][] = [
    ["neon", "neon"],
    ["city", "neon"],
    ["night", "night"],
    ["star", "night"],
    ["moon", "night"],
    ["forest", "forest"],
    ["tea", "forest"],
    ["desert", "desert"],
    ["dune", "desert"],
    ["ice", "arctic"],
    ["snow", "arctic"],
    ["arctic", "arctic"],
    ["ocean", "ocean"],
    ["whale", "ocean"],
    ["reef", "ocean"],
    ["autumn", "autumn"],
    ["maple", "autumn"],
    ["dusk", "dusk"],
    ["lighthouse", "dusk"],
  ];
  for (const [word, name] of pairs) if (text.includes(word)) return PALETTES[name];
  const names = Object.keys(PALETTES);
  return PALETTES[names[hash(prompt) % names.length]];
}

/** An SVG landscape for `prompt`: gradient sky, a sun or moon, layered ridges, maybe a city. */
function sceneSvg(prompt: string, width: number, height: number): string {
  const p = paletteFor(prompt);
  const rand = random(hash(prompt));
  const parts: string[] = [];
  parts.push(
    `<defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${
      p.sky[0]
    }"/><stop offset="0.55" stop-color="${p.sky[1]}"/><stop offset="1" stop-color="${
      p.sky[2]
    }"/></linearGradient><radialGradient id="glow"><stop offset="0" stop-color="${p.sun}" stop-opacity="0.9"/><stop offset="0.25" stop-color="${p.sun}" stop-opacity="0.35"/><stop offset="1" stop-color="${p.sun}" stop-opacity="0"/></radialGradient></defs>`,
  );
  parts.push(`<rect width="${width}" height="${height}" fill="url(#sky)"/>`);
  if (p.stars) {
    for (let i = 0; i < 140; i++) {
      const x = rand() * width;
      const y = rand() * height * 0.55;
      const r = rand() * 1.6 + 0.4;
      parts.push(
        `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="${
          r.toFixed(2)
        }" fill="#fff" opacity="${(0.3 + rand() * 0.7).toFixed(2)}"/>`,
      );
    }
  }
  const sunX = width * (0.2 + rand() * 0.6);
  const sunY = height * (0.22 + rand() * 0.2);
  const sunR = Math.min(width, height) * (0.06 + rand() * 0.05);
  parts.push(
    `<circle cx="${sunX}" cy="${sunY}" r="${sunR * 5}" fill="url(#glow)"/>`,
    `<circle cx="${sunX}" cy="${sunY}" r="${sunR}" fill="${p.sun}"/>`,
  );
  const horizon = p.water ? height * 0.7 : height;
  p.layers.forEach((color, layer) => {
    const base = height * (0.42 + layer * 0.1);
    const amp = height * (0.12 - layer * 0.018);
    const f1 = 1 + rand() * 2.5;
    const f2 = 3 + rand() * 5;
    const ph1 = rand() * Math.PI * 2;
    const ph2 = rand() * Math.PI * 2;
    const points: string[] = [];
    const steps = 80;
    for (let i = 0; i <= steps; i++) {
      const x = (i / steps) * width;
      const t = i / steps;
      const y = base -
        amp * (0.65 * Math.sin(t * Math.PI * f1 + ph1) + 0.35 * Math.sin(t * Math.PI * f2 + ph2));
      points.push(`${x.toFixed(1)},${Math.min(y, horizon).toFixed(1)}`);
    }
    parts.push(
      `<polygon points="0,${horizon} ${points.join(" ")} ${width},${horizon}" fill="${color}"/>`,
    );
    if (p.city && layer === 1) {
      let x = 0;
      while (x < width) {
        const w = width * (0.025 + rand() * 0.05);
        const h = height * (0.12 + rand() * 0.3);
        const top = base + amp * 0.3 - h;
        parts.push(
          `<rect x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${w.toFixed(1)}" height="${
            (horizon - top).toFixed(1)
          }" fill="${p.layers[2]}"/>`,
        );
        for (let wy = top + 8; wy < horizon - 8; wy += 14) {
          for (let wx = x + 5; wx < x + w - 6; wx += 11) {
            if (rand() < 0.35) {
              parts.push(
                `<rect x="${wx.toFixed(1)}" y="${
                  wy.toFixed(1)
                }" width="4" height="6" fill="#ffd6f2" opacity="0.8"/>`,
              );
            }
          }
        }
        x += w + width * 0.004;
      }
    }
  });
  if (p.water) {
    parts.push(
      `<rect y="${horizon}" width="${width}" height="${height - horizon}" fill="${p.layers[3]}"/>`,
      `<rect y="${horizon}" width="${width}" height="${height - horizon}" fill="${
        p.sky[1]
      }" opacity="0.35"/>`,
    );
    for (let i = 0; i < 26; i++) {
      const y = horizon + (height - horizon) * rand();
      const w = sunR * (0.6 + rand() * 2.4);
      parts.push(
        `<rect x="${(sunX - w / 2).toFixed(1)}" y="${y.toFixed(1)}" width="${
          w.toFixed(1)
        }" height="2.5" rx="1.2" fill="${p.sun}" opacity="${(0.25 + rand() * 0.5).toFixed(2)}"/>`,
      );
    }
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${
    parts.join("")
  }</svg>`;
}

async function paint(prompt: string, width: number, height: number): Promise<Uint8Array> {
  return await sharp(new TextEncoder().encode(sceneSvg(prompt, width, height))).png({
    compressionLevel: 6,
  }).toBuffer();
}

/**
 * A streamed generation that sends one blurred partial image and then stays open until aborted:
 * the screenshot of a generation in progress.
 */
async function previewStream(
  prompt: string,
  width: number,
  height: number,
  signal: AbortSignal | undefined,
): Promise<Response> {
  const svg = new TextEncoder().encode(sceneSvg(prompt, width, height));
  const bytes = await sharp(svg).blur(24).modulate({ saturation: 0.8 }).png().toBuffer();
  const type = "image_generation.partial_image";
  const event = {
    type,
    b64_json: bytes.toBase64(),
    partial_image_index: 0,
    size: `${width}x${height}`,
    quality: "medium",
    background: "opaque",
    output_format: "png",
    created_at: Math.floor(Date.now() / 1000),
  };
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(
        new TextEncoder().encode(`event: ${type}\ndata: ${JSON.stringify(event)}\n\n`),
      );
      signal?.addEventListener("abort", () => controller.error(signal.reason), { once: true });
    },
  });
  return new Response(body, { headers: { "Content-Type": "text/event-stream" } });
}

/** An upstream that paints scenes for plain generations and forwards everything else. */
export function paintingUpstream(): typeof fetch {
  return async (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const body = typeof init?.body === "string" ? JSON.parse(init.body) : null;
    if (!url.endsWith("/images/generations") || body === null) return await fetch(input, init);
    const size = body.size && body.size !== "auto" ? body.size : "1024x1024";
    const [width, height] = size.split("x").map(Number);
    if (body.stream) return previewStream(body.prompt, width, height, init?.signal ?? undefined);
    const bytes = await paint(body.prompt, width, height);
    // Output tokens as OpenAI's published per-megapixel figures (the core's price ceiling uses
    // the same table), so a finished image never shows more than its quote.
    const output = Math.round(
      (width * height) / 1024 / 1024 *
        ({ low: 272, medium: 1056, high: 4160 } as Record<string, number>)[
          body.quality ?? "medium"
        ]!,
    );
    const answer = {
      created: Math.floor(Date.now() / 1000),
      data: [{ b64_json: bytes.toBase64() }],
      size,
      quality: body.quality ?? "medium",
      output_format: "png",
      background: "opaque",
      usage: {
        input_tokens: 48,
        input_tokens_details: { text_tokens: 48, image_tokens: 0 },
        output_tokens: output,
        total_tokens: output + 48,
      },
    };
    return new Response(JSON.stringify(answer), {
      status: 200,
      headers: { "Content-Type": "application/json" },
    });
  };
}

const SEEDS: { prompt: string; size: string; quality: string; model?: string; ago: number }[] = [
  {
    prompt: "A lighthouse on a rocky coast at dusk, warm light, oil painting",
    size: "1536x1024",
    quality: "high",
    model: "gpt-image-2.6-sunburst",
    ago: 4,
  },
  {
    prompt: "Neon city skyline at night seen from a rooftop garden, synthwave poster",
    size: "1024x1536",
    quality: "medium",
    model: "gpt-image-2.5-sunburst",
    ago: 22,
  },
  {
    prompt: "Misty pine forest at sunrise, soft watercolor",
    size: "1024x1024",
    quality: "medium",
    model: "gpt-image-2.6-sunburst",
    ago: 48,
  },
  {
    prompt: "Desert dunes under a huge pale sun, minimalist travel poster",
    size: "1536x1024",
    quality: "low",
    ago: 95,
  },
  {
    prompt: "An arctic research station among ice ridges, clean vector illustration",
    size: "1024x1024",
    quality: "high",
    ago: 160,
  },
  {
    prompt: "Humpback whale breaching in a calm ocean bay, golden hour photo",
    size: "1536x1024",
    quality: "medium",
    model: "gpt-image-2.6-sunburst",
    ago: 300,
  },
  {
    prompt: "Autumn maple valley with a winding river, gouache",
    size: "1024x1536",
    quality: "medium",
    ago: 60 * 9,
  },
  {
    prompt: "Starry night over mountain lake with a tiny red tent",
    size: "1024x1024",
    quality: "low",
    ago: 60 * 26,
  },
  {
    prompt: "Terraced tea hills in morning fog, 35mm film",
    size: "1536x1024",
    quality: "medium",
    ago: 60 * 50,
  },
  {
    prompt: "Snow-covered village at blue hour, children's book illustration",
    size: "1024x1024",
    quality: "high",
    ago: 60 * 24 * 3,
  },
  {
    prompt: "Coral reef seen from above the waves, bright and playful",
    size: "1024x1024",
    quality: "low",
    ago: 60 * 24 * 6,
  },
  {
    prompt: "Red desert canyon under a crescent moon, long exposure",
    size: "1536x1024",
    quality: "medium",
    ago: 60 * 24 * 12,
  },
];

async function shot(page: Page, name: string): Promise<void> {
  // Let lazy images in view finish loading.
  await page.waitForLoadState("networkidle");
  await page.screenshot({ path: new URL(`${name}.png`, OUT_DIR).pathname });
  console.error(`wrote docs/screenshots/${name}.png`);
}

async function main(): Promise<void> {
  if (!hasChromium()) {
    throw new Error("Cannot take screenshots: no Chromium (install chromium or set CHROMIUM_PATH)");
  }
  await Deno.mkdir(OUT_DIR, { recursive: true });
  // Seeded images get creation times spread over the past days; afterwards the clock is real.
  let clock: number | null = null;
  await using server = await startGalleryServer({
    upstreamFetch: paintingUpstream(),
    now: () => clock ?? Date.now(),
  });
  const real = Date.now();
  let detailId = "";
  for (const seed of [...SEEDS].reverse()) {
    clock = real - seed.ago * 60_000;
    const id = await seedImage(server.services, {
      prompt: seed.prompt,
      size: seed.size,
      quality: seed.quality,
      ...(seed.model ? { model: seed.model } : {}),
    });
    if (seed.ago === 4) detailId = id;
  }
  clock = null;
  const browser = await launchBrowser();
  try {
    const views = [
      { name: "desktop", viewport: { width: 1280, height: 800 }, scale: 1 },
      { name: "phone", viewport: { width: 390, height: 844 }, scale: 2 },
    ];
    for (const view of views) {
      for (const scheme of ["light", "dark"] as const) {
        const context = await browser.newContext({
          viewport: view.viewport,
          deviceScaleFactor: view.scale,
          colorScheme: scheme,
          isMobile: view.name === "phone",
          hasTouch: view.name === "phone",
        });
        const page = await context.newPage();
        const suffix = `${view.name}${scheme === "dark" ? "-dark" : ""}`;
        await page.goto(server.baseUrl);
        await shot(page, `gallery-${suffix}`);
        if (scheme === "light" || view.name === "desktop") {
          await page.goto(`${server.baseUrl}/gallery/${detailId}`);
          await shot(page, `detail-${suffix}`);
          await page.goto(`${server.baseUrl}/generate`);
          await page.fill(
            "#prompt",
            "A paper lantern festival over a river at night, warm bokeh, cinematic",
          );
          await page.locator("#prompt").blur();
          await shot(page, `generate-${suffix}`);
        }
        if (view.name === "desktop" && scheme === "light") {
          // A generation in progress: one partial image arrives, the final one never does.
          await page.selectOption("#partial_images", "2");
          await page.click("button[type=submit]");
          await page.waitForSelector("[data-partials] img[data-index]", { timeout: 30_000 });
          await page.waitForFunction(
            () =>
              /^[3-9] s$/.test(
                (globalThis as unknown as {
                  document: { querySelector(s: string): { textContent: string | null } | null };
                }).document.querySelector("[data-elapsed]")?.textContent ?? "",
              ),
            null,
            { timeout: 30_000 },
          );
          await page.screenshot({ path: new URL("progress-desktop.png", OUT_DIR).pathname });
          console.error("wrote docs/screenshots/progress-desktop.png");
          const jobId = page.url().split("/").pop()!;
          await server.services.images.cancel(jobId, { principal: LOCAL_PRINCIPAL, door: "cli" });
        }
        await context.close();
      }
    }
  } finally {
    await browser.close();
  }
}

if (import.meta.main) await main();
