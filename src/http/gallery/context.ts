/**
 * What every gallery route works with: the deps the gallery is built from, with defaults filled
 * in, and the gallery's own state (assets, sessions, the CSRF signer, the jobs started here, the
 * security headers of its pages). Built once per gallery app.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { systemClock } from "../../clock.ts";
import type { Config } from "../../config.ts";
import type { ImageRecord, ImageService } from "../../core_types.ts";
import type { ModelRegistry } from "../../generation/mod.ts";
import { imagePath } from "../../images/mod.ts";
import type { OAuthConsent } from "../oauth/consent.ts";
import { type GalleryAssets, galleryAssets } from "./assets/mod.ts";
import { galleryHeaders } from "./headers.ts";
import { JobTracker } from "./jobs.ts";
import { CsrfSigner, SessionStore } from "./session.ts";

/** Collaborators of the gallery app. */
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
  /** The OAuth consent flow behind `/oauth/authorize`, while the built-in server is active. */
  readonly oauthConsent?: OAuthConsent | undefined;
}

/** The deps with defaults filled in, and the gallery's own state. */
export interface GalleryContext extends Required<Omit<GalleryDeps, "oauthConsent">> {
  /** The stylesheet, script and icon. */
  readonly assets: GalleryAssets;
  /** Browser sessions. */
  readonly sessions: SessionStore;
  /** Signs the form tokens of visitors without a session. */
  readonly csrf: CsrfSigner;
  /** Jobs started from the gallery in this process. */
  readonly jobs: JobTracker;
  /** Middleware setting the security headers of every gallery response. */
  readonly headers: MiddlewareHandler;
}

/** The context of a gallery built from `deps`. Nothing is read or opened here. */
export function createGalleryContext(deps: GalleryDeps): GalleryContext {
  const now = deps.now ?? systemClock;
  const redact = deps.redact ?? ((text: string) => text);
  return {
    ...deps,
    now,
    redact,
    imageUrl: deps.imageUrl ??
      ((record, kind) => imagePath(record.fileName || record.id, kind === "thumb")),
    assets: galleryAssets(),
    sessions: new SessionStore(deps.kv, { now, authToken: deps.config.mcpAuthToken }),
    csrf: new CsrfSigner(deps.kv),
    jobs: new JobTracker({ now, redact }),
    headers: galleryHeaders(deps.config),
  };
}
