/**
 * The web gallery, as a Hono sub-app mounted at `/`: server-rendered pages that work without
 * JavaScript (the one script only adds live progress, model-dependent form choices and copy-link).
 *
 * Routes:
 * - `GET /` — the grid, newest first; `?q=` searches prompts, `?model=` filters, `?cursor=` pages
 * - `GET /gallery/:id` (`/i/:id` redirects) — one image; `POST /gallery/:id/edit`, `/delete`
 * - `GET|POST /generate` — the form; a POST starts a job and answers 303 to `/jobs/:id`
 * - `GET /jobs/:id` (refreshes itself without JS), `GET /jobs/:id/events` (server-sent events:
 *   `progress`, `partial`, `done`, `failure`), `POST /jobs/:id/cancel`
 * - `GET|POST /login`, `POST /logout`; `/assets/*`, `/favicon.svg`, `/favicon.ico`
 *
 * Who may do what is the core's decision (docs/authorization.md); the pages only choose which
 * controls to offer. With auth off (no `MCP_AUTH_TOKEN`, no API key) there is no sign-in: a caller
 * is `ip:<address>` with the `user` role, except that a caller on a loopback address (the person
 * running the service on their own machine) is an admin. With auth on, a session from the sign-in
 * form decides; browsing without one (a guest) is allowed only when `IMAGES_PUBLIC=true`. Every state-changing form carries a CSRF token (see
 * `gallery/session.ts`), and a cross-site `Origin` or `Sec-Fetch-Site` is refused as well.
 *
 * The sub-app registers no `*` middleware, so mounting it does not touch the other routes.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import { html } from "hono/html";
import type { Child } from "hono/jsx";
import { anonymousPrincipal, authenticate, authRequired } from "../../auth/tokens.ts";
import type { Config } from "../../config.ts";
import type {
  Caller,
  ImageLookup,
  ImageRecord,
  ImageService,
  Principal,
} from "../../core_types.ts";
import { permits } from "../../core/policy.ts";
import { AppError, toAppError, ValidationError } from "../../errors.ts";
import type { ModelRegistry } from "../../generation/models.ts";
import { isImageId, isJobId } from "../../images/ids.ts";
import { getLog } from "../../log.ts";
import { recordAuthFailure } from "../../ratelimit/auth_failures.ts";
import { clientIp, requestBaseUrl } from "../client_ip.ts";
import { imagePath } from "../../images/urls.ts";
import { type Asset, galleryAssets, IMMUTABLE_CACHE } from "../gallery/assets/mod.ts";
import type { ShownError, ShownImage } from "../gallery/components.tsx";
import { DetailPage } from "../gallery/detail_page.tsx";
import { sseResponse } from "../sse.ts";
import { sleep } from "../../clock.ts";
import { stageLabel } from "../gallery/format.ts";
import { GalleryPage } from "../gallery/gallery_page.tsx";
import { GeneratePage, type GenerateValues } from "../gallery/generate_page.tsx";
import { JobPage, type JobView } from "../gallery/job_page.tsx";
import { JobTracker, type TrackedJob } from "../gallery/jobs.ts";
import type { Frame, Viewer } from "../gallery/layout.tsx";
import { formRequest, formText } from "../gallery/form_request.ts";
import { modelChoices } from "../gallery/model_options.ts";
import {
  clearSessionCookie,
  type CookieScope,
  csrfNonce,
  CsrfSigner,
  existingCsrfNonce,
  type Session,
  sessionCookie,
  SessionStore,
  setSessionCookie,
  tokensEqual,
} from "../gallery/session.ts";
import { LoginPage, MessagePage } from "../gallery/simple_pages.tsx";
import { systemClock } from "../../clock.ts";

/** Collaborators of {@link createGalleryApp}. */
export interface GalleryDeps {
  /** Resolved settings. */
  readonly config: Config;
  /** The core. */
  readonly images: ImageService;
  /** The model registry (form choices). */
  readonly registry: ModelRegistry;
  /** KV: API keys, sessions, the CSRF secret. */
  readonly kv: Deno.Kv;
  /**
   * URL of an image file or its thumbnail as pages should use it (e.g. signed when
   * `IMAGES_PUBLIC=false`). Default: `/images/<file>` and `/images/<file>/thumb`.
   */
  readonly imageUrl?: (record: ImageRecord, kind: "full" | "thumb") => string | Promise<string>;
  /** Masks secrets in error messages. */
  readonly redact?: (text: string) => string;
  /** Clock, epoch milliseconds (default `Date.now`). */
  readonly now?: () => number;
}

/** Images per gallery page. */
export const PAGE_SIZE = 24;

/** Largest form body accepted, in bytes (a 32,000-character prompt fits several times). */
const MAX_FORM_BYTES = 512 * 1024;

/** How long one event stream of a job followed through KV stays open before the browser reconnects. */
const KV_STREAM_MS = 5 * 60_000;

const log = getLog("http", "gallery");

const NOTICES: Record<string, string> = {
  deleted: "The image was deleted.",
  signed_out: "You are signed out.",
};

interface PageRequest {
  readonly viewer: Viewer;
  readonly session: Session | null;
  readonly scope: CookieScope;
}

/** A path on this site to return to, or `/` when `raw` is anything else. */
function safeNext(raw: string | undefined): string {
  if (!raw || raw.length > 1000 || !raw.startsWith("/") || /^\/[/\\]/.test(raw)) return "/";
  if ([...raw].some((ch) => ch.charCodeAt(0) < 0x20)) return "/";
  return raw;
}

function shownError(error: unknown, redact: (text: string) => string): ShownError {
  const appError = toAppError(error);
  return {
    kind: appError.kind,
    message: redact(appError.message),
    retryAfterSeconds: appError.retryAfterSeconds,
  };
}

/** Builds the gallery sub-app. Nothing is read or opened until a request arrives. */
export function createGalleryApp(deps: GalleryDeps): Hono {
  const { config, images, registry, kv } = deps;
  const now = deps.now ?? systemClock;
  const redact = deps.redact ?? ((text: string) => text);
  const imageUrl = deps.imageUrl ??
    ((record: ImageRecord, kind: "full" | "thumb") =>
      imagePath(record.fileName || record.id, kind === "thumb"));
  const assets = galleryAssets();
  const sessions = new SessionStore(kv, { now, authToken: config.mcpAuthToken });
  const csrf = new CsrfSigner(kv);
  const jobs = new JobTracker({ now, redact });

  const imgSources = ["'self'", "data:", "blob:"];
  if (config.publicBaseUrl) imgSources.push(new URL(config.publicBaseUrl).origin);
  const csp = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src ${imgSources.join(" ")}`,
    "connect-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join("; ");

  // --- request helpers -------------------------------------------------------------------

  function scopeOf(c: Context): CookieScope {
    const base = requestBaseUrl(c, { trustProxy: config.trustProxy, publicBaseUrl: undefined });
    return { secure: base.startsWith("https:") };
  }

  async function begin(c: Context): Promise<PageRequest> {
    const scope = scopeOf(c);
    if (!(await authRequired(config, kv))) {
      const principal = anonymousPrincipal(clientIp(c, config));
      return { viewer: { principal, authRequired: false, signedIn: false }, session: null, scope };
    }
    const session = await sessions.read(sessionCookie(c, scope));
    return {
      viewer: {
        principal: session?.principal ?? null,
        authRequired: true,
        signedIn: session !== null,
      },
      session,
      scope,
    };
  }

  async function frameOf(c: Context, req: PageRequest): Promise<Frame> {
    const token = req.session ? req.session.csrf : await csrf.tokenFor(csrfNonce(c, req.scope));
    return { assets, viewer: req.viewer, csrf: token };
  }

  function page(c: Context, node: Child, status = 200): Response | Promise<Response> {
    c.header("Content-Security-Policy", csp);
    c.header("Cache-Control", "no-store");
    c.header("X-Content-Type-Options", "nosniff");
    c.header("X-Frame-Options", "DENY");
    c.header("Vary", "Cookie");
    return c.html(html`<!DOCTYPE html>${node}`, status as 200);
  }

  function canBrowse(req: PageRequest): boolean {
    return !req.viewer.authRequired || req.viewer.principal !== null || config.imagesPublic;
  }

  function toLogin(c: Context, next?: string): Response {
    const url = new URL(c.req.url);
    const target = next ?? `${url.pathname}${url.search}`;
    return c.redirect(`/login?next=${encodeURIComponent(safeNext(target))}`, 303);
  }

  async function readForm(c: Context): Promise<Record<string, string>> {
    const length = Number(c.req.header("content-length") ?? "0");
    if (length > MAX_FORM_BYTES) {
      throw new AppError("payload_too_large", "The form is too large: shorten the prompt");
    }
    let body: Awaited<ReturnType<typeof c.req.parseBody>>;
    try {
      body = await c.req.parseBody();
    } catch (error) {
      // Past the limit the edge answers 413 itself; anything else is the client's malformed form.
      throw new ValidationError("body", `Malformed form body: ${(error as Error).message}`);
    }
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(body)) {
      if (typeof value === "string") out[name] = value;
    }
    return out;
  }

  function sameOrigin(c: Context): boolean {
    const site = c.req.header("sec-fetch-site");
    if (site !== undefined && site !== "same-origin" && site !== "none") return false;
    const origin = c.req.header("origin");
    if (origin === undefined || origin === "null") return origin === undefined;
    const own = new Set([
      new URL(c.req.url).origin,
      new URL(requestBaseUrl(c, config)).origin,
      new URL(requestBaseUrl(c, { trustProxy: config.trustProxy, publicBaseUrl: undefined }))
        .origin,
    ]);
    return own.has(origin);
  }

  async function checkCsrf(
    c: Context,
    req: PageRequest,
    form: Record<string, string>,
  ): Promise<void> {
    const token = form._csrf;
    const valid = sameOrigin(c) &&
      (req.session
        ? tokensEqual(token, req.session.csrf)
        : await csrf.verify(existingCsrfNonce(c, req.scope), token));
    if (!valid) {
      throw new AppError(
        "forbidden",
        "This form has expired or did not come from this site: reload the page and try again",
      );
    }
  }

  async function shown(records: readonly ImageRecord[]): Promise<ShownImage[]> {
    return await Promise.all(
      records.map(async (record) => ({ record, thumbUrl: await imageUrl(record, "thumb") })),
    );
  }

  async function startJob(
    kind: "generate" | "edit",
    input: Record<string, unknown>,
    principal: Principal,
  ): Promise<string> {
    const partialImages = typeof input.partial_images === "number" ? input.partial_images : 0;
    const model = typeof input.model === "string" ? input.model : config.defaultModel;
    const prepared = jobs.prepare({
      model,
      prompt: String(input.prompt ?? ""),
      owner: principal.id,
      partialImages,
    });
    const job = await images[kind](input, {
      door: "http",
      principal,
      onProgress: prepared.onProgress,
      partialImages,
    });
    // Not following a caller's signal: the job finishes even when the browser goes away.
    job.detach();
    jobs.register(prepared.job, job, job.done);
    return job.id;
  }

  /** The caller of a page request, as the core takes it. */
  function callerOf(req: PageRequest): Caller {
    return { principal: req.viewer.principal, door: "http" };
  }

  /** Whether to offer a cancel button (the core decides again when it is pressed). */
  function mayCancel(req: PageRequest, job: TrackedJob | undefined): boolean {
    if (req.viewer.principal === null) return false;
    return permits(callerOf(req), "cancel", config, { id: "", creator: job?.owner ?? null });
  }

  function editModelFor(record: ImageRecord): string | null {
    const model = registry.get(record.model);
    if (!model || !model.edits.supported) return null;
    return registry.availableIds(new Date(now())).includes(model.id) ? model.id : null;
  }

  async function renderDetail(
    c: Context,
    req: PageRequest,
    record: ImageRecord,
    extra: { error?: ShownError; editPrompt?: string; notice?: string; status?: number } = {},
  ): Promise<Response> {
    const fullUrl = await imageUrl(record, "full");
    const shareUrl = new URL(fullUrl, `${requestBaseUrl(c, config)}/`).href;
    const frame = await frameOf(c, req);
    return page(
      c,
      <DetailPage
        frame={frame}
        record={record}
        fullUrl={fullUrl}
        shareUrl={shareUrl}
        canEdit={req.viewer.principal !== null}
        canDelete={permits(callerOf(req), "delete", config, record)}
        editModel={editModelFor(record)}
        editPrompt={extra.editPrompt}
        error={extra.error}
        notice={extra.notice}
        now={now()}
      />,
      extra.status,
    );
  }

  async function renderGenerate(
    c: Context,
    req: PageRequest,
    values: GenerateValues,
    error?: ShownError,
    status = 200,
  ): Promise<Response> {
    const choices = modelChoices(registry, {
      now: new Date(now()),
      defaultModel: config.defaultModel,
      defaultQuality: config.defaultQuality,
    });
    return page(
      c,
      <GeneratePage
        frame={await frameOf(c, req)}
        models={choices.models}
        defaultModel={choices.defaultModel}
        values={values}
        error={error}
        hourlyLimit={(await images.allowance(callerOf(req))).imagesPerHour}
      />,
      status,
    );
  }

  async function message(
    c: Context,
    req: PageRequest | null,
    error: AppError,
    status?: number,
  ): Promise<Response> {
    const request = req ?? await begin(c).catch(() => null);
    const frame: Frame = request ? await frameOf(c, request) : {
      assets,
      csrf: "",
      viewer: { principal: null, authRequired: true, signedIn: false },
    };
    const code = status ?? (error.status >= 400 && error.status < 499 ? error.status : 500);
    return page(
      c,
      <MessagePage frame={frame} kind={error.kind} message={redact(error.message)} />,
      code === 499 ? 409 : code,
    );
  }

  function jobViewOfTracked(job: TrackedJob): Promise<JobView> | JobView {
    if (job.outcome?.state === "succeeded") {
      return shown(job.outcome.images).then((list) => ({ state: "succeeded", images: list }));
    }
    if (job.outcome?.state === "failed") return { state: "failed", error: job.outcome.error };
    return {
      state: "running",
      elapsedSeconds: Math.floor((now() - job.started) / 1000),
      stageLabel: stageLabel(job.stage),
      partials: [...job.partials].map(([index, dataUrl]) => ({ index, dataUrl })),
    };
  }

  // --- the app ---------------------------------------------------------------------------

  const app = new Hono();

  app.onError(async (error, c) => {
    const appError = toAppError(error);
    if (appError.kind === "internal") {
      log.error("Gallery request failed: {error}", { error: String(error) });
    }
    return await message(c, null, appError);
  });

  function serveAsset(asset: Asset, cache = IMMUTABLE_CACHE) {
    return (c: Context) => {
      c.header("Cache-Control", cache);
      c.header("ETag", asset.etag);
      c.header("X-Content-Type-Options", "nosniff");
      if (c.req.header("if-none-match") === asset.etag) return c.body(null, 304);
      c.header("Content-Type", asset.type);
      return c.body(asset.body);
    };
  }
  for (const asset of [assets.css, assets.js, assets.icon]) app.get(asset.path, serveAsset(asset));
  app.get("/favicon.svg", serveAsset(assets.icon, "public, max-age=86400"));
  app.get("/favicon.ico", serveAsset(assets.icon, "public, max-age=86400"));

  app.get("/", async (c) => {
    const req = await begin(c);
    if (!canBrowse(req)) return toLogin(c);
    const query = (c.req.query("q") ?? "").trim().slice(0, 200);
    const modelParam = (c.req.query("model") ?? "").trim();
    const model = registry.get(modelParam)?.id ?? (modelParam.length <= 100 ? modelParam : "");
    const cursor = c.req.query("cursor") || undefined;
    let items: readonly ImageRecord[] = [];
    let nextCursor: string | undefined;
    let error: ShownError | undefined;
    try {
      const result = await images.list(callerOf(req), {
        limit: PAGE_SIZE,
        ...(cursor ? { cursor } : {}),
        ...(model ? { model } : {}),
        ...(query ? { query } : {}),
      });
      items = result.items;
      nextCursor = result.nextCursor;
    } catch (thrown) {
      const appError = toAppError(thrown);
      if (appError.kind === "internal") throw thrown;
      error = appError.field === "cursor"
        ? {
          kind: "not_found",
          message: "This page link is no longer valid: start from the newest images",
        }
        : shownError(appError, redact);
    }
    let nextHref: string | undefined;
    if (nextCursor) {
      const params = new URLSearchParams();
      if (query) params.set("q", query);
      if (model) params.set("model", model);
      params.set("cursor", nextCursor);
      nextHref = `/?${params}`;
    }
    const models = registry.ids();
    if (model && !models.includes(model)) models.push(model);
    return page(
      c,
      <GalleryPage
        frame={await frameOf(c, req)}
        images={await shown(items)}
        query={query}
        model={model}
        models={models}
        paged={cursor !== undefined}
        nextHref={nextHref}
        notice={NOTICES[c.req.query("notice") ?? ""]}
        error={error}
        canGenerate={req.viewer.principal !== null}
        now={now()}
      />,
    );
  });

  app.get("/i/:id", (c) => c.redirect(`/gallery/${encodeURIComponent(c.req.param("id"))}`, 301));

  app.get("/gallery/:id", async (c) => {
    const req = await begin(c);
    if (!canBrowse(req)) return toLogin(c);
    const id = c.req.param("id");
    const record = isImageId(id) ? await images.get(id, callerOf(req)) : null;
    if (record === null) {
      if (isImageId(id)) {
        const found = await images.lookup(id, callerOf(req), { waitMs: 0 });
        if (found.status === "pending") return c.redirect(`/jobs/${found.job.id}`, 303);
      }
      return await message(
        c,
        req,
        new AppError("not_found", `There is no image ${id.slice(0, 80)}`),
      );
    }
    return await renderDetail(c, req, record);
  });

  app.post("/gallery/:id/edit", async (c) => {
    const req = await begin(c);
    const form = await readForm(c);
    await checkCsrf(c, req, form);
    const principal = req.viewer.principal;
    if (principal === null) return toLogin(c, `/gallery/${c.req.param("id")}`);
    const id = c.req.param("id");
    const record = isImageId(id) ? await images.get(id, callerOf(req)) : null;
    if (record === null) {
      return await message(
        c,
        req,
        new AppError("not_found", `There is no image ${id.slice(0, 80)}`),
      );
    }
    const prompt = formText(form, "prompt");
    try {
      if (prompt === "") {
        throw new ValidationError("prompt", "Describe the change: the edit prompt is empty");
      }
      const model = editModelFor(record);
      const jobId = await startJob(
        "edit",
        { prompt, images: [record.id], ...(model ? { model } : {}) },
        principal,
      );
      return c.redirect(`/jobs/${jobId}`, 303);
    } catch (thrown) {
      const appError = toAppError(thrown);
      if (appError.kind === "internal") throw thrown;
      return await renderDetail(c, req, record, {
        error: shownError(appError, redact),
        editPrompt: prompt,
        status: appError.status,
      });
    }
  });

  app.post("/gallery/:id/delete", async (c) => {
    const req = await begin(c);
    const form = await readForm(c);
    await checkCsrf(c, req, form);
    if (req.viewer.principal === null) return toLogin(c, `/gallery/${c.req.param("id")}`);
    const id = c.req.param("id");
    if (!isImageId(id) || !(await images.delete(id, callerOf(req)))) {
      return await message(
        c,
        req,
        new AppError("not_found", `There is no image ${id.slice(0, 80)}`),
      );
    }
    log.info("Image {id} deleted from the gallery by {principal}", {
      id,
      principal: req.viewer.principal.id,
    });
    return c.redirect("/?notice=deleted", 303);
  });

  app.get("/generate", async (c) => {
    const req = await begin(c);
    if (req.viewer.principal === null) return toLogin(c);
    return await renderGenerate(c, req, {
      ...(c.req.query("prompt") ? { prompt: c.req.query("prompt")!.slice(0, 32_000) } : {}),
    });
  });

  app.post("/generate", async (c) => {
    const req = await begin(c);
    const form = await readForm(c);
    await checkCsrf(c, req, form);
    const principal = req.viewer.principal;
    if (principal === null) return toLogin(c, "/generate");
    const values: GenerateValues = {
      prompt: form.prompt,
      model: form.model,
      size: form.size,
      size_custom: form.size_custom,
      quality: form.quality,
      output_format: form.output_format,
      background: form.background,
      n: form.n,
      partial_images: form.partial_images,
    };
    try {
      const jobId = await startJob("generate", formRequest(form), principal);
      return c.redirect(`/jobs/${jobId}`, 303);
    } catch (thrown) {
      const appError = toAppError(thrown);
      if (appError.kind === "internal") throw thrown;
      if (appError.retryAfterSeconds !== undefined) {
        c.header("Retry-After", String(Math.ceil(appError.retryAfterSeconds)));
      }
      return await renderGenerate(
        c,
        req,
        values,
        shownError(appError, redact),
        appError.status === 499 ? 409 : appError.status,
      );
    }
  });

  app.get("/jobs/:id", async (c) => {
    const req = await begin(c);
    if (req.viewer.principal === null) return toLogin(c);
    const id = c.req.param("id");
    const frame = await frameOf(c, req);
    const tracked = isJobId(id) ? jobs.get(id) : undefined;
    if (tracked) {
      return page(
        c,
        <JobPage
          frame={frame}
          jobId={tracked.id}
          prompt={tracked.prompt}
          model={tracked.model}
          count={tracked.imageIds.length}
          view={await jobViewOfTracked(tracked)}
          canCancel={mayCancel(req, tracked)}
        />,
      );
    }
    const found: ImageLookup = isJobId(id)
      ? await images.lookup(id, callerOf(req), { waitMs: 0 })
      : { status: "missing" };
    if (found.status === "missing") {
      return await message(
        c,
        req,
        new AppError("not_found", `There is no generation ${id.slice(0, 80)}`),
      );
    }
    let view: JobView;
    let model: string | undefined;
    let count = 1;
    if (found.status === "pending") {
      model = found.job.model;
      count = found.job.imageIds.length;
      view = {
        state: "running",
        elapsedSeconds: Math.floor((now() - found.job.created) / 1000),
        stageLabel: stageLabel(found.job.state === "running" ? "generating" : "queued"),
        partials: [],
      };
    } else if (found.status === "failed") {
      model = found.job.model;
      view = { state: "failed", error: shownError(found.error, redact) };
    } else {
      model = found.record.model;
      view = { state: "succeeded", images: await shown([found.record]) };
    }
    return page(
      c,
      <JobPage
        frame={frame}
        jobId={id}
        prompt={found.status === "ready" ? found.record.prompt : undefined}
        model={model}
        count={count}
        view={view}
        canCancel={mayCancel(req, undefined)}
      />,
    );
  });

  app.get("/jobs/:id/events", async (c) => {
    const req = await begin(c);
    if (req.viewer.principal === null) {
      throw new AppError("unauthorized", "Sign in to follow this generation");
    }
    const id = c.req.param("id");
    const failure = (error: unknown) => {
      const shownErr = shownError(error, redact);
      return { ...shownErr, url: `/jobs/${id}` };
    };
    return sseResponse(async (send, signal) => {
      const tracked = isJobId(id) ? jobs.get(id) : undefined;
      if (tracked) {
        await followTracked(tracked, send, signal);
        return;
      }
      const until = now() + KV_STREAM_MS;
      while (!signal.aborted && now() < until) {
        const found = isJobId(id)
          ? await images.lookup(id, callerOf(req), { waitMs: 1000, signal })
          : { status: "missing" as const };
        if (found.status === "missing") {
          send("failure", failure(new AppError("not_found", `There is no generation ${id}`)));
          return;
        }
        if (found.status === "ready") {
          send("done", { imageIds: [found.record.id], url: `/jobs/${id}` });
          return;
        }
        if (found.status === "failed") {
          send("failure", failure(found.error));
          return;
        }
        const stage = found.job.state === "running" ? "generating" : "queued";
        send("progress", {
          stage,
          stageLabel: stageLabel(stage),
          elapsedSeconds: Math.floor((now() - found.job.created) / 1000),
        });
        await sleep(250, signal);
      }
    }, { onError: failure, errorEvent: "failure", retryMs: 2000, noStore: true });

    async function followTracked(
      job: TrackedJob,
      send: (event: string, data: unknown) => void,
      signal: AbortSignal,
    ): Promise<void> {
      const progress = () =>
        send("progress", {
          stage: job.stage,
          stageLabel: stageLabel(job.stage),
          elapsedSeconds: Math.floor((now() - job.started) / 1000),
        });
      const outcome = () => {
        if (job.outcome?.state === "succeeded") {
          send("done", { imageIds: job.outcome.images.map((r) => r.id), url: `/jobs/${job.id}` });
        } else if (job.outcome?.state === "failed") {
          send("failure", { ...job.outcome.error, url: `/jobs/${job.id}` });
        }
      };
      for (const [index, dataUrl] of job.partials) send("partial", { index, dataUrl });
      progress();
      if (job.outcome) return outcome();
      if (signal.aborted) return;
      await new Promise<void>((resolve) => {
        const timer = setInterval(progress, 1000);
        const unsubscribe = jobs.subscribe(job, (event) => {
          if (event.type === "partial") {
            send("partial", { index: event.index, dataUrl: event.dataUrl });
          } else if (event.type === "progress") progress();
          else {
            outcome();
            stop();
          }
        });
        function stop() {
          clearInterval(timer);
          unsubscribe();
          signal.removeEventListener("abort", stop);
          resolve();
        }
        signal.addEventListener("abort", stop, { once: true });
      });
    }
  });

  app.post("/jobs/:id/cancel", async (c) => {
    const req = await begin(c);
    const form = await readForm(c);
    await checkCsrf(c, req, form);
    if (req.viewer.principal === null) return toLogin(c);
    const id = c.req.param("id");
    if (isJobId(id)) await images.cancel(id, callerOf(req));
    return c.redirect(`/jobs/${id}`, 303);
  });

  app.get("/login", async (c) => {
    const req = await begin(c);
    const next = safeNext(c.req.query("next"));
    if (!req.viewer.authRequired || req.session) return c.redirect(next, 303);
    return page(c, <LoginPage frame={await frameOf(c, req)} next={next} />);
  });

  app.post("/login", async (c) => {
    const req = await begin(c);
    const form = await readForm(c);
    await checkCsrf(c, req, form);
    const next = safeNext(form.next);
    if (!req.viewer.authRequired) return c.redirect(next, 303);
    const key = (form.key ?? "").trim();
    const principal = key === ""
      ? null
      : await authenticate(kv, key, { authToken: config.mcpAuthToken, now });
    if (principal === null) {
      // A wrong key counts against the address like a wrong bearer token on the API; the right
      // key is never held back, so a shared address cannot lock its people out.
      const lockout = key === "" ? null : await recordAuthFailure(kv, clientIp(c, config), {
        limit: config.authFailureLimit,
        now,
      });
      if (lockout !== null) c.header("Retry-After", String(lockout.retryAfterSeconds));
      return page(
        c,
        <LoginPage
          frame={await frameOf(c, req)}
          next={next}
          error={lockout === null
            ? "That key was not accepted: check it and try again"
            : `Too many attempts: try again in ${lockout.retryAfterSeconds} s`}
        />,
        lockout === null ? 401 : 429,
      );
    }
    // A new session id on every sign-in, so a planted cookie can never become a session.
    await sessions.delete(sessionCookie(c, req.scope));
    const created = await sessions.create(principal);
    setSessionCookie(
      c,
      req.scope,
      created.id,
      Math.floor((created.session.expires - now()) / 1000),
    );
    log.info("Gallery sign-in by {principal}", { principal: principal.id });
    return c.redirect(next, 303);
  });

  app.post("/logout", async (c) => {
    const req = await begin(c);
    const form = await readForm(c);
    await checkCsrf(c, req, form);
    await sessions.delete(sessionCookie(c, req.scope));
    clearSessionCookie(c, req.scope);
    return c.redirect("/?notice=signed_out", 303);
  });

  return app;
}
