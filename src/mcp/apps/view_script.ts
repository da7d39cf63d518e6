/**
 * The studio's script: the view side of the MCP Apps extension over postMessage JSON-RPC
 * (`ui/initialize`, then the host's `ui/notifications/*`, and `tools/call` through the host), the
 * image viewer fed by `read_image_part`, and the mask painter that builds the mask PNG at the
 * image's size for `edit_image`. It makes no network request of its own.
 *
 * @module
 */

/** The script. */
export const STUDIO_JS = String.raw`(function () {
  "use strict";

  var PROTOCOL_VERSION = "2026-01-26";
  var pending = new Map();
  var nextId = 1;
  var $ = function (id) { return document.getElementById(id); };

  // ---- JSON-RPC with the host -------------------------------------------------------------
  function post(message) { window.parent.postMessage(message, "*"); }
  function request(method, params) {
    var id = nextId++;
    post({ jsonrpc: "2.0", id: id, method: method, params: params });
    return new Promise(function (resolve, reject) { pending.set(id, { resolve: resolve, reject: reject }); });
  }
  function notify(method, params) { post({ jsonrpc: "2.0", method: method, params: params || {} }); }
  function callTool(name, args) {
    return request("tools/call", { name: name, arguments: args }).then(function (result) {
      if (result && result.isError) throw new Error(textOf(result) || name + " failed");
      return result;
    });
  }

  window.addEventListener("message", function (event) {
    if (event.source !== window.parent) return;
    var message = event.data;
    if (!message || message.jsonrpc !== "2.0") return;
    if (message.method === undefined && message.id !== undefined) {
      var waiter = pending.get(message.id);
      if (!waiter) return;
      pending.delete(message.id);
      if (message.error) waiter.reject(new Error(message.error.message || "Host error"));
      else waiter.resolve(message.result);
      return;
    }
    var params = message.params || {};
    switch (message.method) {
      case "ui/notifications/tool-input": showInput(params.arguments || {}); break;
      case "ui/notifications/tool-result": showResult(params).catch(fail); break;
      case "ui/notifications/tool-cancelled": setStatus("Cancelled" + (params.reason ? ": " + params.reason : ""), true); break;
      case "ui/notifications/host-context-changed": applyContext(params); break;
      case "ui/resource-teardown": post({ jsonrpc: "2.0", id: message.id, result: {} }); break;
      default:
        if (message.id !== undefined) {
          post({ jsonrpc: "2.0", id: message.id, error: { code: -32601, message: "Method not found: " + message.method } });
        }
    }
  });

  // ---- host context: theme, style variables ---------------------------------------------
  function applyContext(context) {
    if (context.theme === "light" || context.theme === "dark") document.documentElement.dataset.theme = context.theme;
    var variables = context.styles && context.styles.variables;
    if (variables) {
      Object.keys(variables).forEach(function (name) {
        if (variables[name]) document.documentElement.style.setProperty(name, variables[name]);
      });
    }
  }

  // ---- state and small helpers -------------------------------------------------------------
  var state = { images: [], selected: -1, prompt: "", warnings: [], zoomed: false };
  function setStatus(text, error) {
    var status = $("status");
    status.textContent = text;
    status.classList.toggle("error", Boolean(error));
  }
  function fail(error) { setStatus(error && error.message ? error.message : String(error), true); }
  function textOf(result) {
    return (result.content || []).filter(function (b) { return b.type === "text"; })
      .map(function (b) { return b.text; }).join("\n");
  }
  function imageIds(result) {
    var ids = [];
    (result.content || []).forEach(function (block) {
      if (block.type === "resource_link" && /^image:\/\//.test(block.uri || "")) ids.push(block.uri.slice(8));
    });
    var structured = result.structuredContent;
    if (ids.length === 0 && structured && Array.isArray(structured.images)) {
      structured.images.forEach(function (image) { if (image && image.id) ids.push(image.id); });
    }
    return ids;
  }
  function usd(value) {
    if (value === null || value === undefined) return "unknown";
    return "$" + (value < 0.01 ? value.toFixed(4) : value.toFixed(3));
  }

  // ---- loading images at full resolution, part by part -------------------------------------
  async function loadImage(id) {
    var parts = [];
    var offset = 0;
    var info = null;
    var mime = "image/png";
    for (;;) {
      var result = await callTool("read_image_part", { id: id, offset: offset });
      var part = result.structuredContent;
      if (!part || typeof part.data !== "string") throw new Error("The host returned no image data for " + id);
      if (part.image) info = part.image;
      mime = part.mime_type || mime;
      parts.push(part.data);
      if (part.next_offset === null || part.next_offset === undefined) break;
      offset = part.next_offset;
    }
    return { id: id, info: info || { id: id }, src: "data:" + mime + ";base64," + parts.join("") };
  }

  function showInput(args) {
    if (typeof args.prompt === "string") state.prompt = args.prompt;
    setStatus(args.prompt ? "Working on: " + args.prompt : "Working…");
  }

  async function showResult(result, append) {
    var ids = imageIds(result);
    var text = textOf(result);
    state.warnings = text.split("\n").filter(function (line) { return /^Warning: /.test(line); })
      .map(function (line) { return line.slice(9); });
    if (result.isError || ids.length === 0) {
      setStatus(text || "The result holds no image", Boolean(result.isError));
      $("studio").setAttribute("aria-busy", "false");
      return;
    }
    setStatus("Loading " + ids.length + (ids.length === 1 ? " image…" : " images…"));
    var loaded = [];
    for (var i = 0; i < ids.length; i++) loaded.push(await loadImage(ids[i]));
    var first = append ? state.images.length : 0;
    state.images = append ? state.images.concat(loaded) : loaded;
    renderVariants();
    select(first);
    setStatus(state.images.length === 1 ? "1 image" : state.images.length + " images");
    $("studio").setAttribute("aria-busy", "false");
  }

  function renderVariants() {
    var row = $("variants");
    row.replaceChildren();
    state.images.forEach(function (image, index) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "variant";
      button.dataset.id = image.id;
      var img = document.createElement("img");
      img.src = image.src;
      img.alt = image.info.prompt ? "Image: " + image.info.prompt : "Image " + image.id;
      var caption = document.createElement("span");
      caption.textContent = [image.info.width && image.info.height ? image.info.width + "×" + image.info.height : "",
        image.info.quality || "", usd(image.info.cost_usd)].filter(Boolean).join(" · ");
      button.append(img, caption);
      button.addEventListener("click", function () { select(index); });
      row.append(button);
    });
  }

  function select(index) {
    state.selected = index;
    var image = state.images[index];
    document.querySelectorAll(".variant").forEach(function (el, i) {
      el.setAttribute("aria-current", i === index ? "true" : "false");
    });
    $("detail").hidden = false;
    var picture = $("picture");
    picture.src = image.src;
    picture.alt = image.info.prompt || "Image " + image.id;
    var facts = [
      ["Id", image.id], ["Prompt", image.info.prompt], ["Revised prompt", image.info.revised_prompt],
      ["Model", image.info.model], ["Size", image.info.width + "×" + image.info.height],
      ["Quality", image.info.quality], ["Cost", usd(image.info.cost_usd)],
    ];
    state.warnings.forEach(function (warning) { facts.push(["Warning", warning]); });
    var list = $("facts");
    list.replaceChildren();
    facts.forEach(function (fact) {
      if (fact[1] === undefined || fact[1] === null || fact[1] === "") return;
      var dt = document.createElement("dt");
      dt.textContent = fact[0];
      var dd = document.createElement("dd");
      dd.textContent = String(fact[1]);
      list.append(dt, dd);
    });
    resetMask();
  }

  // ---- zoom --------------------------------------------------------------------------------
  function toggleZoom() {
    state.zoomed = !state.zoomed;
    $("stage").classList.toggle("zoomed", state.zoomed);
    $("zoom").setAttribute("aria-pressed", String(state.zoomed));
  }

  // ---- mask painting: strokes in image pixels, replayed for the overlay and the mask -------
  var mask = { strokes: [], eraser: false, drawing: null };
  function current() { return state.images[state.selected]; }
  function resetMask() {
    mask.strokes = [];
    var picture = $("picture");
    var canvas = $("mask-layer");
    var size = function () {
      canvas.width = picture.naturalWidth || 1;
      canvas.height = picture.naturalHeight || 1;
      redraw();
    };
    if (picture.complete && picture.naturalWidth) size(); else picture.addEventListener("load", size, { once: true });
  }
  function drawStrokes(context, erase, paint) {
    mask.strokes.forEach(function (stroke) {
      context.globalCompositeOperation = stroke.eraser ? erase : paint;
      context.lineWidth = stroke.size;
      context.lineCap = "round";
      context.lineJoin = "round";
      context.beginPath();
      stroke.points.forEach(function (p, i) { if (i === 0) context.moveTo(p[0], p[1]); else context.lineTo(p[0], p[1]); });
      if (stroke.points.length === 1) context.lineTo(stroke.points[0][0] + 0.01, stroke.points[0][1]);
      context.stroke();
    });
    context.globalCompositeOperation = "source-over";
  }
  function redraw() {
    var canvas = $("mask-layer");
    var context = canvas.getContext("2d");
    context.clearRect(0, 0, canvas.width, canvas.height);
    context.strokeStyle = "rgba(236, 72, 153, 0.55)";
    drawStrokes(context, "destination-out", "source-over");
  }
  function point(event) {
    var canvas = $("mask-layer");
    var rect = canvas.getBoundingClientRect();
    return [(event.clientX - rect.left) * canvas.width / rect.width, (event.clientY - rect.top) * canvas.height / rect.height];
  }
  function brushSize() {
    var canvas = $("mask-layer");
    var rect = canvas.getBoundingClientRect();
    return Number($("brush-size").value) * canvas.width / Math.max(1, rect.width);
  }
  /** The mask PNG at the image's size: opaque, with the painted area fully transparent. */
  function maskDataUrl() {
    var layer = $("mask-layer");
    var canvas = document.createElement("canvas");
    canvas.width = layer.width;
    canvas.height = layer.height;
    var context = canvas.getContext("2d");
    context.fillStyle = "#000";
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.strokeStyle = "#000";
    drawStrokes(context, "source-over", "destination-out");
    return canvas.toDataURL("image/png");
  }
  function setEraser(on) {
    mask.eraser = on;
    $("eraser").setAttribute("aria-pressed", String(on));
  }
  function undo() {
    mask.strokes.pop();
    redraw();
  }
  function toggleEdit(open) {
    var form = $("edit-form");
    form.hidden = open === undefined ? !form.hidden : !open;
    $("mask-layer").hidden = form.hidden;
    $("edit-toggle").setAttribute("aria-expanded", String(!form.hidden));
    if (!form.hidden) $("instruction").focus();
  }

  // A button, not a form submit: a sandbox without allow-forms blocks form submission.
  async function applyEdit() {
    var image = current();
    var prompt = $("instruction").value.trim();
    if (!image || !prompt) return;
    var args = { prompt: prompt, images: [image.id] };
    if (mask.strokes.length > 0) args.mask = maskDataUrl();
    $("apply-edit").disabled = true;
    setStatus("Editing " + image.id + "…");
    try {
      var result = await callTool("edit_image", args);
      await showResult(result, true);
      toggleEdit(false);
    } catch (error) {
      fail(error);
    } finally {
      $("apply-edit").disabled = false;
    }
  }

  // ---- wiring ------------------------------------------------------------------------------
  function wire() {
    var canvas = $("mask-layer");
    canvas.addEventListener("pointerdown", function (event) {
      canvas.setPointerCapture(event.pointerId);
      mask.drawing = { eraser: mask.eraser, size: brushSize(), points: [point(event)] };
      mask.strokes.push(mask.drawing);
      redraw();
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!mask.drawing) return;
      mask.drawing.points.push(point(event));
      redraw();
    });
    var end = function () { mask.drawing = null; };
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    $("zoom").addEventListener("click", toggleZoom);
    $("edit-toggle").addEventListener("click", function () { toggleEdit(); });
    $("eraser").addEventListener("click", function () { setEraser(!mask.eraser); });
    $("undo").addEventListener("click", undo);
    $("clear-mask").addEventListener("click", function () { mask.strokes = []; redraw(); });
    $("apply-edit").addEventListener("click", function () { applyEdit().catch(fail); });
    $("instruction").addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); applyEdit().catch(fail); }
    });
    document.addEventListener("keydown", function (event) {
      var typing = event.target instanceof HTMLTextAreaElement || event.target instanceof HTMLInputElement;
      if ((event.ctrlKey || event.metaKey) && event.key === "z" && !typing) { event.preventDefault(); undo(); return; }
      if (typing || event.ctrlKey || event.metaKey || event.altKey || state.selected < 0) return;
      if (event.key === "z") toggleZoom();
      else if (event.key === "e") toggleEdit();
      else if (event.key === "x") setEraser(!mask.eraser);
      else if (event.key === "ArrowRight" && state.selected < state.images.length - 1) select(state.selected + 1);
      else if (event.key === "ArrowLeft" && state.selected > 0) select(state.selected - 1);
    });
    new ResizeObserver(function () {
      notify("ui/notifications/size-changed", { width: document.documentElement.scrollWidth, height: document.documentElement.scrollHeight });
    }).observe(document.documentElement);
  }

  wire();
  request("ui/initialize", {
    appInfo: { name: "image-studio", version: "1.0.0" },
    appCapabilities: {},
    protocolVersion: PROTOCOL_VERSION,
  }).then(function (result) {
    applyContext((result && result.hostContext) || {});
    notify("ui/notifications/initialized");
  }).catch(fail);
})();
`;
