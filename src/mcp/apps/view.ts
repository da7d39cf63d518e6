/**
 * The studio's HTML: one self-contained page (inline style and script, no external asset), the
 * document a host renders in its sandboxed iframe.
 *
 * @module
 */
import { STUDIO_CSS } from "./view_style.ts";
import { STUDIO_JS } from "./view_script.ts";

/** The studio page. */
export function studioHtml(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Image studio</title>
<style>${STUDIO_CSS}</style>
</head>
<body>
<main id="studio" aria-busy="true">
  <p id="status" role="status" aria-live="polite">Waiting for a result…</p>
  <section id="variants" aria-label="Images" class="variants"></section>
  <section id="detail" hidden>
    <div class="toolbar" role="toolbar" aria-label="View">
      <button type="button" id="zoom" aria-pressed="false" title="Zoom (Z)">Zoom</button>
      <button type="button" id="edit-toggle" aria-expanded="false" title="Edit (E)">Edit</button>
    </div>
    <div id="stage" class="stage">
      <img id="picture" alt="">
      <canvas id="mask-layer" hidden aria-label="Mask: paint the area to change"></canvas>
    </div>
    <dl id="facts" class="facts"></dl>
    <div id="edit-form" class="edit" role="group" aria-label="Edit" hidden>
      <label for="instruction">Instruction</label>
      <textarea id="instruction" rows="2" placeholder="What to change"></textarea>
      <div class="toolbar" role="toolbar" aria-label="Mask brush">
        <label>Brush <input type="range" id="brush-size" min="4" max="200" value="40"></label>
        <button type="button" id="eraser" aria-pressed="false" title="Eraser (X)">Eraser</button>
        <button type="button" id="undo" title="Undo (Ctrl+Z)">Undo</button>
        <button type="button" id="clear-mask">Clear mask</button>
      </div>
      <button type="button" id="apply-edit" class="primary" title="Apply edit (Ctrl+Enter)">Apply edit</button>
    </div>
  </section>
</main>
<script>${STUDIO_JS}</script>
</body>
</html>`;
}
