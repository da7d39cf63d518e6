/**
 * The gallery's static files: stylesheet, script and icon under content-hashed paths (cached for a
 * year), and the icon as `/favicon.svg` and `/favicon.ico` (cached for a day). A matching
 * `If-None-Match` answers 304.
 *
 * @module
 */
import type { Context, Hono } from "hono";
import { type Asset, IMMUTABLE_CACHE } from "../assets/mod.ts";
import type { GalleryContext } from "../context.ts";

const FAVICON_CACHE = "public, max-age=86400";

function serveAsset(asset: Asset, cache = IMMUTABLE_CACHE) {
  return (c: Context) => {
    c.header("Cache-Control", cache);
    c.header("ETag", asset.etag);
    if (c.req.header("if-none-match") === asset.etag) return c.body(null, 304);
    c.header("Content-Type", asset.type);
    return c.body(asset.body);
  };
}

/** Registers the asset routes on `app`. */
export function registerAssetRoutes(app: Hono, ctx: GalleryContext): void {
  const { assets, headers } = ctx;
  for (const asset of [assets.css, assets.js, assets.icon]) {
    app.get(asset.path, headers, serveAsset(asset));
  }
  app.get("/favicon.svg", headers, serveAsset(assets.icon, FAVICON_CACHE));
  app.get("/favicon.ico", headers, serveAsset(assets.icon, FAVICON_CACHE));
}
