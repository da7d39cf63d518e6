/**
 * The gallery's stylesheet, served as `/assets/gallery.<hash>.css`. Kept in a module rather than
 * a file so it ships inside compiled binaries and on Deploy without file access. Light and dark
 * follow the system setting; no web fonts, no external assets.
 *
 * @module
 */

/** The stylesheet. */
export const GALLERY_CSS = String.raw`
:root {
  color-scheme: light dark;
  --bg: #f4f5f7;
  --surface: #ffffff;
  --surface-2: #eef0f3;
  --text: #15171c;
  --muted: #555d6b;
  --border: #dde1e7;
  --accent: #4338ca;
  --accent-hover: #3730a3;
  --accent-text: #ffffff;
  --accent-soft: #eceefe;
  --danger: #b42318;
  --danger-text: #ffffff;
  --danger-soft: #fef3f2;
  --success: #067647;
  --success-soft: #ecfdf3;
  --focus: #2563eb;
  --radius: 14px;
  --radius-sm: 9px;
  --shadow: 0 1px 2px rgb(16 24 40 / 0.05), 0 1px 3px rgb(16 24 40 / 0.07);
  --shadow-lg: 0 10px 28px rgb(16 24 40 / 0.13);
  --font: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "Liberation Sans", Arial,
    sans-serif;
  --mono: ui-monospace, "SFMono-Regular", Menlo, Consolas, "Liberation Mono", monospace;
}

@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0d0f13;
    --surface: #161920;
    --surface-2: #1f232c;
    --text: #e8eaef;
    --muted: #9da5b5;
    --border: #2a2f3a;
    --accent: #8e9cff;
    --accent-hover: #a9b4ff;
    --accent-text: #0d0f13;
    --accent-soft: #1d2142;
    --danger: #ff8f85;
    --danger-text: #1a0b0a;
    --danger-soft: #2b1517;
    --success: #6ce9a6;
    --success-soft: #0f2a1e;
    --focus: #8ab4ff;
    --shadow: 0 1px 2px rgb(0 0 0 / 0.5);
    --shadow-lg: 0 10px 28px rgb(0 0 0 / 0.55);
  }
}

*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body {
  margin: 0;
  min-height: 100vh;
  display: flex;
  flex-direction: column;
  font: 15px/1.55 var(--font);
  background: var(--bg);
  color: var(--text);
  -webkit-font-smoothing: antialiased;
}
a { color: var(--accent); text-underline-offset: 2px; }
a:hover { color: var(--accent-hover); }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
img { max-width: 100%; }
[hidden] { display: none !important; }
code, .mono { font-family: var(--mono); font-size: 0.92em; }

.skip-link {
  position: absolute;
  left: 12px;
  top: -60px;
  z-index: 20;
  padding: 10px 16px;
  border-radius: var(--radius-sm);
  background: var(--accent);
  color: var(--accent-text);
  font-weight: 600;
  text-decoration: none;
}
.skip-link:focus { top: 12px; color: var(--accent-text); }
.visually-hidden {
  position: absolute !important;
  width: 1px;
  height: 1px;
  margin: -1px;
  padding: 0;
  overflow: hidden;
  clip: rect(0 0 0 0);
  white-space: nowrap;
  border: 0;
}

/* Header */
.site-header {
  position: sticky;
  top: 0;
  z-index: 10;
  background: color-mix(in srgb, var(--surface) 88%, transparent);
  backdrop-filter: saturate(1.4) blur(10px);
  border-bottom: 1px solid var(--border);
}
.site-header .inner {
  max-width: 1280px;
  margin: 0 auto;
  padding: 0 28px;
  min-height: 62px;
  display: flex;
  align-items: center;
  gap: 28px;
}
.brand {
  display: flex;
  align-items: center;
  gap: 10px;
  color: var(--text);
  font-weight: 700;
  font-size: 16px;
  letter-spacing: -0.01em;
  text-decoration: none;
  white-space: nowrap;
}
.brand:hover { color: var(--text); }
.brand svg { width: 30px; height: 30px; flex: none; }
.nav { display: flex; gap: 4px; }
.nav a {
  padding: 7px 13px;
  border-radius: 999px;
  color: var(--muted);
  font-weight: 550;
  text-decoration: none;
}
.nav a:hover { color: var(--text); background: var(--surface-2); }
.nav a[aria-current="page"] { color: var(--text); background: var(--surface-2); }
.account {
  margin-left: auto;
  display: flex;
  align-items: center;
  gap: 12px;
  color: var(--muted);
  font-size: 14px;
}
.account form { margin: 0; }
.badge {
  display: inline-flex;
  align-items: center;
  padding: 2px 9px;
  border-radius: 999px;
  background: var(--accent-soft);
  color: var(--text);
  font-size: 12px;
  font-weight: 600;
}

main {
  flex: 1;
  width: 100%;
  max-width: 1280px;
  margin: 0 auto;
  padding: 32px 28px 56px;
}
main:focus { outline: none; }
h1 { margin: 0; font-size: 28px; line-height: 1.2; letter-spacing: -0.02em; }
h2 { font-size: 16px; margin: 0 0 12px; letter-spacing: -0.01em; }
.page-head {
  display: flex;
  align-items: flex-end;
  justify-content: space-between;
  gap: 16px;
  flex-wrap: wrap;
  margin-bottom: 22px;
}
.page-head p { margin: 4px 0 0; color: var(--muted); }
.crumbs { margin: 0 0 14px; font-size: 14px; }
.crumbs a { text-decoration: none; font-weight: 550; }

/* Buttons */
.button {
  display: inline-flex;
  align-items: center;
  justify-content: center;
  gap: 8px;
  min-height: 40px;
  padding: 0 16px;
  border: 1px solid var(--border);
  border-radius: var(--radius-sm);
  background: var(--surface);
  color: var(--text);
  font: inherit;
  font-weight: 600;
  font-size: 14px;
  line-height: 1;
  text-decoration: none;
  cursor: pointer;
  white-space: nowrap;
}
.button:hover { background: var(--surface-2); color: var(--text); }
.button.primary { background: var(--accent); border-color: var(--accent); color: var(--accent-text); }
.button.primary:hover { background: var(--accent-hover); border-color: var(--accent-hover); }
.button.danger { background: var(--danger); border-color: var(--danger); color: var(--danger-text); }
.button.danger:hover { filter: brightness(0.95); }
.button.quiet { border-color: transparent; background: transparent; color: var(--muted); }
.button.quiet:hover { color: var(--text); background: var(--surface-2); }
.button.small { min-height: 32px; padding: 0 12px; font-size: 13px; }
.button svg { width: 16px; height: 16px; }

/* Form fields */
.field { display: flex; flex-direction: column; gap: 6px; min-width: 0; }
label, .label { font-weight: 600; font-size: 13.5px; }
input[type="text"], input[type="search"], input[type="password"], input[type="url"], select,
textarea {
  width: 100%;
  min-height: 42px;
  padding: 9px 12px;
  border: 1px solid var(--border);
  border-radius: var(--radius-sm);
  background: var(--surface);
  color: var(--text);
  font: inherit;
}
input:hover, select:hover, textarea:hover { border-color: color-mix(in srgb, var(--muted) 45%, var(--border)); }
textarea { min-height: 128px; resize: vertical; line-height: 1.5; }
input[readonly] { background: var(--surface-2); }
.hint { margin: 0; color: var(--muted); font-size: 13px; }
.checkbox { display: flex; align-items: center; gap: 8px; font-weight: 500; }
.checkbox input { width: 18px; height: 18px; accent-color: var(--accent); }

/* Filters */
.filters {
  display: flex;
  flex-wrap: wrap;
  align-items: flex-end;
  gap: 12px;
  margin-bottom: 26px;
  padding: 14px;
  border: 1px solid var(--border);
  border-radius: var(--radius);
  background: var(--surface);
  box-shadow: var(--shadow);
}
.filters .search { flex: 1 1 280px; }
.filters .model { flex: 0 1 240px; }
.filters .buttons { display: flex; gap: 8px; }
.result-note { margin: -12px 0 20px; color: var(--muted); font-size: 14px; }

/* Grid of cards */
.grid {
  list-style: none;
  margin: 0;
  padding: 0;
  display: grid;
  grid-template-columns: repeat(auto-fill, minmax(240px, 1fr));
  gap: 20px;
}
.card {
  position: relative;
  display: flex;
  flex-direction: column;
  overflow: hidden;
  border: 1px solid var(--border);
  border-radius: var(--radius);
  background: var(--surface);
  box-shadow: var(--shadow);
  transition: transform 0.15s ease, box-shadow 0.15s ease;
}
.card:hover, .card:focus-within { transform: translateY(-2px); box-shadow: var(--shadow-lg); }
.card .thumb {
  display: block;
  aspect-ratio: 1 / 1;
  background: var(--surface-2);
  overflow: hidden;
}
.card .thumb::after { content: ""; position: absolute; inset: 0; border-radius: var(--radius); }
.card .thumb:focus-visible { outline: none; }
.card:has(.thumb:focus-visible) { outline: 3px solid var(--focus); outline-offset: 2px; }
.card img { display: block; width: 100%; height: 100%; object-fit: cover; }
.card .body { display: flex; flex: 1; flex-direction: column; gap: 10px; padding: 12px 13px 13px; }
.card .prompt {
  margin: 0;
  display: -webkit-box;
  -webkit-line-clamp: 2;
  -webkit-box-orient: vertical;
  overflow: hidden;
  font-size: 14px;
  line-height: 1.45;
}
.card .meta {
  display: flex;
  margin: auto 0 0;
  min-width: 0;
}
.card .facts > * { white-space: nowrap; }
@media (min-width: 641px) {
  .card .facts { gap: 0 6px; }
  .card .facts > * + *::before { content: "·"; margin-right: 6px; opacity: 0.7; }
}
.card .facts {
  display: flex;
  flex-wrap: wrap;
  gap: 0 8px;
  margin: -2px 0 0;
  color: var(--muted);
  font-size: 12px;
  font-variant-numeric: tabular-nums;
}
.chip {
  display: inline-block;
  max-width: 100%;
  min-width: 0;
  overflow: hidden;
  padding: 2px 9px;
  border-radius: 999px;
  background: var(--surface-2);
  color: var(--text);
  font-size: 12px;
  font-weight: 600;
  white-space: nowrap;
  text-overflow: ellipsis;
}

.pager { display: flex; justify-content: space-between; gap: 12px; margin-top: 32px; }
.pager .next { margin-left: auto; }

.empty {
  padding: 72px 20px;
  border: 1px dashed var(--border);
  border-radius: var(--radius);
  background: var(--surface);
  text-align: center;
}
.empty h2 { font-size: 19px; }
.empty p { margin: 0 auto 20px; max-width: 460px; color: var(--muted); }

/* Panels */
.panel {
  padding: 20px 22px;
  border: 1px solid var(--border);
  border-radius: var(--radius);
  background: var(--surface);
  box-shadow: var(--shadow);
}
.panel + .panel { margin-top: 16px; }
.layout-form > .panel { margin-top: 0; }
.panel > h2:first-child { margin-top: 0; }

/* Detail */
.detail {
  display: grid;
  grid-template-columns: minmax(0, 1.55fr) minmax(320px, 1fr);
  gap: 28px;
  align-items: start;
}
.viewer {
  margin: 0;
  padding: 14px;
  border: 1px solid var(--border);
  border-radius: var(--radius);
  background: var(--surface);
  box-shadow: var(--shadow);
}
.viewer .frame {
  display: flex;
  justify-content: center;
  border-radius: var(--radius-sm);
  overflow: hidden;
  background-color: var(--surface-2);
  background-image:
    linear-gradient(45deg, rgb(128 128 128 / 0.12) 25%, transparent 25%, transparent 75%,
      rgb(128 128 128 / 0.12) 75%),
    linear-gradient(45deg, rgb(128 128 128 / 0.12) 25%, transparent 25%, transparent 75%,
      rgb(128 128 128 / 0.12) 75%);
  background-size: 20px 20px;
  background-position: 0 0, 10px 10px;
}
.viewer img { display: block; width: auto; max-height: 78vh; height: auto; object-fit: contain; }
.viewer figcaption { margin-top: 12px; color: var(--muted); font-size: 13px; }
.prompt-text { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; font-size: 15px; }
.revised { margin-top: 14px; padding-top: 14px; border-top: 1px solid var(--border); }
.revised h3 { margin: 0 0 6px; color: var(--muted); font-size: 13px; font-weight: 600; }
.revised p { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; color: var(--muted); }
.props {
  display: grid;
  grid-template-columns: max-content minmax(0, 1fr);
  gap: 7px 18px;
  margin: 0;
  font-size: 14px;
}
.props dt { color: var(--muted); }
.props dd { margin: 0; overflow-wrap: anywhere; }
.props dd.chips { display: flex; flex-wrap: wrap; gap: 4px; }
.apps { max-width: 760px; }
.apps .panel form { margin-top: 14px; }
.actions { display: flex; flex-wrap: wrap; gap: 8px; }
.copy-row { display: flex; gap: 8px; margin-top: 12px; }
.copy-row input { font-family: var(--mono); font-size: 12.5px; }
.status { min-height: 1.2em; margin: 6px 0 0; color: var(--success); font-size: 13px; }
.stack { display: flex; flex-direction: column; gap: 12px; }
details.danger-zone summary {
  cursor: pointer;
  color: var(--danger);
  font-weight: 600;
  width: fit-content;
}
details.danger-zone[open] summary { margin-bottom: 12px; }
details.danger-zone p { margin: 0 0 12px; color: var(--muted); font-size: 14px; }

/* Generate */
.layout-form {
  display: grid;
  grid-template-columns: minmax(0, 1fr) 300px;
  gap: 24px;
  align-items: start;
}
.form-grid {
  display: grid;
  grid-template-columns: repeat(3, minmax(0, 1fr));
  gap: 18px 16px;
}
.form-grid .wide { grid-column: 1 / -1; }
.form-grid .span-2 { grid-column: span 2; }
.form-actions {
  display: flex;
  align-items: center;
  gap: 14px;
  margin-top: 22px;
  padding-top: 18px;
  border-top: 1px solid var(--border);
}
.form-actions .hint { margin-left: auto; text-align: right; }
.tips { font-size: 14px; color: var(--muted); }
.tips h2 { color: var(--text); }
.tips ul { margin: 0; padding-left: 18px; }
.tips li + li { margin-top: 8px; }

/* Alerts */
.alert {
  margin-bottom: 22px;
  padding: 14px 16px;
  border: 1px solid color-mix(in srgb, var(--danger) 35%, transparent);
  border-radius: var(--radius-sm);
  background: var(--danger-soft);
}
.alert.success {
  border-color: color-mix(in srgb, var(--success) 35%, transparent);
  background: var(--success-soft);
}
.alert strong { display: block; margin-bottom: 2px; }
.alert p { margin: 0; }
.alert .detail-text { margin-top: 6px; color: var(--muted); font-size: 13px; overflow-wrap: anywhere; }

/* Job progress */
.job-wrap { max-width: 860px; margin: 0 auto; }
.progress-head { display: flex; align-items: center; gap: 14px; }
.progress-head h2 { margin: 0; font-size: 18px; }
.progress-head .elapsed { margin-left: auto; font-variant-numeric: tabular-nums; font-size: 22px; font-weight: 650; }
.spinner {
  width: 22px;
  height: 22px;
  flex: none;
  border: 3px solid var(--border);
  border-top-color: var(--accent);
  border-radius: 50%;
  animation: spin 0.9s linear infinite;
}
@keyframes spin { to { transform: rotate(360deg); } }
.bar {
  position: relative;
  height: 6px;
  margin: 18px 0 8px;
  overflow: hidden;
  border-radius: 999px;
  background: var(--surface-2);
}
.bar::after {
  content: "";
  position: absolute;
  inset: 0 auto 0 0;
  width: 35%;
  border-radius: 999px;
  background: var(--accent);
  animation: slide 1.6s ease-in-out infinite;
}
@keyframes slide { from { transform: translateX(-100%); } to { transform: translateX(290%); } }
.job .prompt-text { margin-top: 14px; color: var(--muted); }
.partials, .results {
  display: grid;
  grid-template-columns: repeat(auto-fill, minmax(240px, 1fr));
  gap: 14px;
  margin: 18px 0 0;
  padding: 0;
  list-style: none;
}
.partials img, .results img {
  display: block;
  width: 100%;
  height: auto;
  border-radius: var(--radius-sm);
  background: var(--surface-2);
}
.results a { display: block; border-radius: var(--radius-sm); }

/* Sign in */
.narrow { max-width: 440px; margin: 24px auto 0; }
.narrow h1 { margin-bottom: 6px; }
.narrow .lead { margin: 0 0 20px; color: var(--muted); }
.narrow form .field + .field, .narrow form .field + button { margin-top: 16px; }

.site-footer {
  padding: 22px 28px 28px;
  color: var(--muted);
  font-size: 13px;
  text-align: center;
}
.site-footer a { color: inherit; }

@media (max-width: 960px) {
  .detail, .layout-form { grid-template-columns: minmax(0, 1fr); }
  .viewer img { max-height: none; width: 100%; }
}

@media (max-width: 640px) {
  body { font-size: 15px; }
  .site-header .inner { padding: 8px 16px; gap: 10px 14px; flex-wrap: wrap; min-height: 56px; }
  .brand-name { display: none; }
  .nav a { padding: 6px 10px; }
  .account { gap: 8px; }
  .account .who { display: none; }
  main { padding: 20px 16px 40px; }
  h1 { font-size: 23px; }
  .page-head { margin-bottom: 16px; }
  .page-head.compact { flex-wrap: nowrap; align-items: center; }
  .page-head.compact p { display: none; }
  .filters { padding: 12px; gap: 10px; margin-bottom: 18px; }
  .filters .search { flex: 1 1 100%; }
  .filters .model { flex: 1 1 0; }
  .filters .buttons { flex: none; }
  .grid { grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 12px; }
  .card .body { padding: 10px 11px 12px; gap: 8px; }
  .card .prompt { font-size: 13.5px; }
  .card .meta, .card .facts { font-size: 12px; }
  .chip { font-size: 11.5px; padding: 2px 7px; }
  .form-grid { grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 14px 12px; }
  .form-grid .wide-phone { grid-column: 1 / -1; }
  .form-actions { flex-wrap: wrap; }
  .form-actions .button { flex: 1 1 100%; }
  .form-actions .hint { margin-left: 0; text-align: left; }
  .panel { padding: 16px; }
  .detail { gap: 16px; }
  .props { grid-template-columns: minmax(0, 2fr) minmax(0, 3fr); gap: 6px 12px; font-size: 13.5px; }
}

@media (prefers-reduced-motion: reduce) {
  .card { transition: none; }
  .card:hover, .card:focus-within { transform: none; }
  .spinner, .bar::after { animation: none; }
}
`;
