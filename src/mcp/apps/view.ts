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
  <div class="toolbar top">
    <p id="status" role="status" aria-live="polite">Waiting for a result…</p>
    <button type="button" id="cancel-run" hidden>Cancel</button>
    <button type="button" id="browse-toggle" aria-expanded="false" title="Browse (B)">Browse</button>
  </div>
  <section id="browser" aria-label="Recent images" hidden>
    <div class="toolbar">
      <input type="search" id="browse-query" placeholder="Search prompts" aria-label="Search prompts">
      <button type="button" id="browse-search">Search</button>
    </div>
    <div id="browse-grid" class="grid"></div>
    <button type="button" id="browse-more" hidden>More</button>
  </section>
  <section id="variants" aria-label="Images" class="variants"></section>
  <section id="detail" hidden>
    <div class="toolbar" role="toolbar" aria-label="View">
      <button type="button" id="zoom" aria-pressed="false" title="Zoom (Z)">Zoom</button>
      <button type="button" id="edit-toggle" aria-expanded="false" title="Edit (E)">Edit</button>
      <button type="button" id="variation-toggle" aria-expanded="false" title="Variation (V)">Variation</button>
      <button type="button" id="download" hidden>Download</button>
      <button type="button" id="copy-link">Copy link</button>
      <button type="button" id="delete" hidden>Delete</button>
    </div>
    <div id="stage" class="stage">
      <div class="frame">
        <img id="picture" alt="">
        <canvas id="mask-layer" hidden aria-label="Mask: paint the area to change"></canvas>
      </div>
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
      <p id="edit-price" aria-live="polite"></p>
      <button type="button" id="apply-edit" class="primary" title="Apply edit (Ctrl+Enter)">Apply edit</button>
    </div>
    <div id="variation" class="edit" role="group" aria-label="Variation" hidden>
      <div class="toolbar">
        <label>Size <select id="variation-size">
          <option value="1024x1024">1024×1024</option>
          <option value="1024x1536">1024×1536</option>
          <option value="1536x1024">1536×1024</option>
        </select></label>
        <label>Quality <select id="variation-quality">
          <option value="low">low</option>
          <option value="medium" selected>medium</option>
          <option value="high">high</option>
        </select></label>
      </div>
      <p id="variation-price" aria-live="polite"></p>
      <button type="button" id="variation-run" class="primary" disabled>Generate</button>
    </div>
  </section>
</main>
<script>${STUDIO_JS}</script>
</body>
</html>`;
}
