/**
 * The frame every gallery page shares: document head (stylesheet, script, icon), skip link,
 * header with navigation and account, main landmark and footer.
 *
 * @module
 */
import type { Child, FC } from "hono/jsx";
import { raw } from "hono/html";
import type { Principal } from "../../core_types.ts";
import { type GalleryAssets, ICON_SVG } from "./assets/mod.ts";

/** Who is looking at a page. */
export interface Viewer {
  /** The caller; null when auth is on and nobody is signed in. */
  readonly principal: Principal | null;
  /** Whether the service requires authentication. */
  readonly authRequired: boolean;
  /** Whether the caller holds a session. */
  readonly signedIn: boolean;
}

/** What the layout needs besides the page body. */
export interface Frame {
  /** The assets' hashed paths. */
  readonly assets: GalleryAssets;
  /** Who is looking. */
  readonly viewer: Viewer;
  /** The CSRF token for forms on this page (the sign-out form). */
  readonly csrf: string;
}

/** Props of {@link Layout}. */
export interface LayoutProps {
  /** Page title (before the site name). */
  readonly title: string;
  /** Shared frame. */
  readonly frame: Frame;
  /** Which navigation entry is current. */
  readonly current?: "gallery" | "generate" | "login" | "apps";
  /** Extra elements for the head. */
  readonly head?: Child;
  /** The page body. */
  readonly children?: Child;
}

/** The site name shown in titles and the header. */
export const SITE_NAME = "Image Gallery";

const BRAND_ICON = ICON_SVG.replace(
  "<svg ",
  '<svg aria-hidden="true" focusable="false" width="30" height="30" ',
);

const Account: FC<{ frame: Frame }> = ({ frame }) => {
  const { viewer } = frame;
  if (!viewer.authRequired) {
    return viewer.principal?.role === "admin"
      ? (
        <span class="badge" title="Authentication is off and you are on this machine">
          Local admin
        </span>
      )
      : <span class="badge" title="Authentication is off">Guest</span>;
  }
  if (viewer.principal === null) {
    return <a class="button small" href="/login">Sign in</a>;
  }
  return (
    <>
      <span class="who">
        Signed in as <strong>{viewer.principal.name}</strong>
      </span>
      {viewer.principal.role === "admin" ? <span class="badge">Admin</span> : null}
      {viewer.signedIn
        ? (
          <form method="post" action="/logout">
            <input type="hidden" name="_csrf" value={frame.csrf} />
            <button class="button small quiet" type="submit">Sign out</button>
          </form>
        )
        : null}
    </>
  );
};

/** The page frame. */
export const Layout: FC<LayoutProps> = (props) => {
  const { assets } = props.frame;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <meta name="referrer" content="same-origin" />
        <title>{`${props.title} · ${SITE_NAME}`}</title>
        <link rel="icon" href={assets.icon.path} type="image/svg+xml" />
        <link rel="stylesheet" href={assets.css.path} />
        <script src={assets.js.path} defer></script>
        {props.head ?? null}
      </head>
      <body>
        <a class="skip-link" href="#main">Skip to content</a>
        <header class="site-header">
          <div class="inner">
            <a class="brand" href="/">
              {raw(BRAND_ICON)}
              <span class="brand-name">{SITE_NAME}</span>
            </a>
            <nav class="nav" aria-label="Main">
              <a href="/" aria-current={props.current === "gallery" ? "page" : undefined}>
                Gallery
              </a>
              <a href="/generate" aria-current={props.current === "generate" ? "page" : undefined}>
                Generate
              </a>
              {props.frame.viewer.principal === null ? null : (
                <a
                  href="/connected-apps"
                  aria-current={props.current === "apps" ? "page" : undefined}
                >
                  Connected apps
                </a>
              )}
            </nav>
            <div class="account">
              <Account frame={props.frame} />
            </div>
          </div>
        </header>
        <main id="main" tabindex={-1}>
          {props.children}
        </main>
        <footer class="site-footer">
          Images made with OpenAI image models · <a href="/docs">API documentation</a>
        </footer>
      </body>
    </html>
  );
};
