/**
 * The gallery's static assets — stylesheet, script and icon — with content-hashed paths so they
 * can be cached for a year (`immutable`): a changed file gets a new name.
 *
 * @module
 */
import { GALLERY_JS } from "./client.ts";
import { GALLERY_CSS } from "./style.ts";

/** The icon: a framed picture on an indigo-to-violet tile. Also the favicon. */
export const ICON_SVG =
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><defs><linearGradient id="gallery-icon-fill" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#4f46e5"/><stop offset="1" stop-color="#9333ea"/></linearGradient></defs><rect width="32" height="32" rx="8" fill="url(#gallery-icon-fill)"/><circle cx="21.5" cy="10.5" r="3" fill="#fff" fill-opacity=".92"/><path d="M5 24.5l7.2-9.2 5.1 6.1 3.1-3.7 6.6 6.8z" fill="#fff"/></svg>`;

/** One served asset. */
export interface Asset {
  /** URL path. */
  readonly path: string;
  /** Content type. */
  readonly type: string;
  /** Body. */
  readonly body: string;
  /** Strong ETag. */
  readonly etag: string;
}

/** The assets, by role. */
export interface GalleryAssets {
  /** The stylesheet. */
  readonly css: Asset;
  /** The script. */
  readonly js: Asset;
  /** The favicon (SVG). */
  readonly icon: Asset;
}

/** 32-bit FNV-1a of a string, as 8 hex digits: enough to tell versions of a file apart. */
function fingerprint(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}

function asset(name: string, ext: string, type: string, body: string): Asset {
  const hash = fingerprint(body);
  return { path: `/assets/${name}.${hash}.${ext}`, type, body, etag: `"${hash}"` };
}

/** The gallery's assets with their hashed paths. */
export function galleryAssets(): GalleryAssets {
  return {
    css: asset("gallery", "css", "text/css; charset=utf-8", GALLERY_CSS),
    js: asset("gallery", "js", "text/javascript; charset=utf-8", GALLERY_JS),
    icon: asset("icon", "svg", "image/svg+xml", ICON_SVG),
  };
}

/** Cache-Control of hashed assets. */
export const IMMUTABLE_CACHE = "public, max-age=31536000, immutable";
