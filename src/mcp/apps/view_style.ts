/**
 * The studio's stylesheet: light and dark (the host's theme, else the system's), host style
 * variables where given, and a layout that fits a narrow chat column.
 *
 * @module
 */

/** The stylesheet. */
export const STUDIO_CSS = String.raw`
:root {
  color-scheme: light dark;
  --bg: var(--color-background-primary, #ffffff);
  --fg: var(--color-text-primary, #1f2330);
  --muted: var(--color-text-secondary, #5b6170);
  --line: var(--color-border-primary, #d9dce3);
  --accent: #4f46e5;
  --accent-fg: #ffffff;
  font-family: var(--font-sans, system-ui, sans-serif);
  font-size: 14px;
}
:root[data-theme="dark"] {
  color-scheme: dark;
  --bg: var(--color-background-primary, #17181c);
  --fg: var(--color-text-primary, #eceef3);
  --muted: var(--color-text-secondary, #a3a8b5);
  --line: var(--color-border-primary, #363945);
  --accent: #818cf8;
  --accent-fg: #0b0c10;
}
:root[data-theme="light"] { color-scheme: light; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; background: var(--bg); color: var(--fg); }
main { padding: 12px; display: grid; gap: 12px; max-width: 100%; }
#status { margin: 0; color: var(--muted); flex: 1 1 auto; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(96px, 1fr)); gap: 6px; }
.grid button { padding: 2px; }
.grid img { display: block; width: 100%; aspect-ratio: 1; object-fit: cover; border-radius: 4px; }
input[type="search"], select {
  font: inherit; padding: 5px; border-radius: 6px; border: 1px solid var(--line);
  background: var(--bg); color: var(--fg);
}
input[type="search"] { flex: 1 1 140px; }
#status.error { color: #dc2626; }
.variants { display: flex; flex-wrap: wrap; gap: 8px; align-items: flex-start; }
.variant {
  flex: 1 1 140px; max-width: 260px; margin: 0; padding: 4px; border: 2px solid var(--line);
  border-radius: 8px; background: none; color: inherit; font: inherit; text-align: left; cursor: pointer;
}
.variant[aria-current="true"] { border-color: var(--accent); }
.variant img { display: block; width: 100%; height: auto; border-radius: 4px; }
.variant span { display: block; padding: 4px 2px 0; font-size: 12px; color: var(--muted); }
.toolbar { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; }
button {
  font: inherit; padding: 6px 12px; border-radius: 6px; border: 1px solid var(--line);
  background: var(--bg); color: var(--fg); cursor: pointer;
}
button[aria-pressed="true"], button.primary {
  background: var(--accent); color: var(--accent-fg); border-color: var(--accent);
}
button:disabled { opacity: .5; cursor: default; }
:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
.stage { overflow: auto; max-height: 720px; border: 1px solid var(--line); border-radius: 8px; }
.frame { position: relative; width: fit-content; max-width: 100%; margin: 0 auto; }
.frame img { display: block; max-width: 100%; max-height: 640px; width: auto; height: auto; }
.stage.zoomed .frame { max-width: none; }
.stage.zoomed .frame img { max-width: none; max-height: none; }
.frame canvas {
  position: absolute; inset: 0; width: 100%; height: 100%; touch-action: none; cursor: crosshair;
}
.facts { display: grid; padding-bottom: 4px; grid-template-columns: max-content 1fr; gap: 4px 12px; margin: 0; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; overflow-wrap: anywhere; }
.edit { display: grid; gap: 8px; }
textarea {
  font: inherit; width: 100%; padding: 6px; border-radius: 6px; border: 1px solid var(--line);
  background: var(--bg); color: var(--fg);
}
@media (max-width: 420px) {
  main { padding: 8px; }
  .variant { flex-basis: 100%; max-width: none; }
}
`;
