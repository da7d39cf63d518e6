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
  /** Sends a request; track.id (when given) names it for a later cancel. */
  function request(method, params, track) {
    var id = nextId++;
    if (track) {
      // A tracked call asks for progress, which a host may pass on (notifications/progress).
      track.id = id;
      params = Object.assign({}, params, { _meta: { progressToken: id } });
    }
    post({ jsonrpc: "2.0", id: id, method: method, params: params });
    return new Promise(function (resolve, reject) { pending.set(id, { resolve: resolve, reject: reject }); });
  }
  function notify(method, params) { post({ jsonrpc: "2.0", method: method, params: params || {} }); }
  /** Cancels a request: the host cancels the tool call it made for it, and the server its job. */
  function cancelRequest(id, reason) {
    notify("notifications/cancelled", { requestId: id, reason: reason });
    var waiter = pending.get(id);
    if (waiter) {
      pending.delete(id);
      waiter.reject(new Error(reason));
    }
  }
  function callTool(name, args, track) {
    return request("tools/call", { name: name, arguments: args }, track).then(function (result) {
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
      case "ui/notifications/tool-result": showToolResult(params).catch(fail); break;
      case "ui/notifications/tool-cancelled":
        stopTicker();
        setStatus("Cancelled" + (params.reason ? ": " + params.reason : ""), true);
        $("studio").setAttribute("aria-busy", "false");
        break;
      case "ui/notifications/host-context-changed": applyContext(params); break;
      case "notifications/progress": showProgress(params); break;
      case "ui/resource-teardown": post({ jsonrpc: "2.0", id: message.id, result: {} }); break;
      default:
        if (message.id !== undefined) {
          post({ jsonrpc: "2.0", id: message.id, error: { code: -32601, message: "Method not found: " + message.method } });
        }
    }
  });

  // ---- host context: theme, style variables ---------------------------------------------
  function applyContext(context) {
    var tool = context.toolInfo && context.toolInfo.tool;
    if (tool && tool.name) state.tool = tool.name;
    if (context.theme === "light" || context.theme === "dark") document.documentElement.dataset.theme = context.theme;
    var variables = context.styles && context.styles.variables;
    if (variables) {
      Object.keys(variables).forEach(function (name) {
        // Only custom properties: a host's style variables never set the page's own CSS.
        if (/^--/.test(name) && variables[name]) document.documentElement.style.setProperty(name, variables[name]);
      });
    }
  }

  // ---- state and small helpers -------------------------------------------------------------
  var state = { images: [], selected: -1, prompt: "", warnings: [], zoomed: false, tool: null, input: {}, host: {} };
  function setStatus(text, error) {
    var status = $("status");
    status.textContent = text;
    status.classList.toggle("error", Boolean(error));
  }
  function fail(error) {
    stopTicker();
    setStatus(error && error.message ? error.message : String(error), true);
  }
  // Elapsed times use the monotonic clock: they measure durations, never dates, and must not jump
  // when the wall clock is set.
  function secondsSince(start) { return Math.floor((performance.now() - start) / 1000); }
  // Progress of a running generation: the time it has taken so far.
  var ticker = null;
  function startTicker(label) {
    stopTicker();
    var start = performance.now();
    var show = function () { setStatus(label + " " + secondsSince(start) + " s"); };
    show();
    ticker = setInterval(show, 1000);
  }
  function stopTicker() {
    if (ticker !== null) clearInterval(ticker);
    ticker = null;
  }
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
  var MAX_IMAGE_BYTES = 64 * 1024 * 1024;
  async function loadImage(id) {
    var parts = [];
    var offset = 0;
    var info = null;
    var mime = "image/png";
    var waiting = null;
    for (;;) {
      var result = await callTool("read_image_part", { id: id, offset: offset });
      var part = result.structuredContent;
      if (part && part.status === "pending" && offset === 0) {
        // A generation that outran the tool's answer: the server waits a while per call.
        if (waiting === null) waiting = performance.now();
        stopTicker();
        setStatus("Still generating… " + secondsSince(waiting) + " s");
        continue;
      }
      if (!part || typeof part.data !== "string") throw new Error("The host returned no image data for " + id);
      if (part.id) id = part.id;
      if (part.image) info = part.image;
      mime = part.mime_type || mime;
      parts.push(part.data);
      if (part.next_offset === null || part.next_offset === undefined) break;
      // Each part must move forward, and the whole stay within what the server says it has.
      if (!(part.next_offset > offset) || part.next_offset > MAX_IMAGE_BYTES ||
        (part.total_bytes && part.next_offset > part.total_bytes)) {
        throw new Error("The host returned a broken image part for " + id);
      }
      offset = part.next_offset;
    }
    return { id: id, info: info || { id: id }, src: "data:" + mime + ";base64," + parts.join("") };
  }

  function showInput(args) {
    state.input = args;
    if (typeof args.prompt === "string") state.prompt = args.prompt;
    startTicker(args.prompt ? "Working on: " + args.prompt + " —" : "Working…");
  }

  /**
   * Whether a result is list_images': the host may name the tool (toolInfo is optional), else
   * the list's own shape says it (next_cursor beside images, or the list's header line).
   */
  function isList(result) {
    if (state.tool === "list_images") return true;
    var structured = result.structuredContent;
    if (structured && Array.isArray(structured.images) && "next_cursor" in structured) return true;
    return /^(\d+ images?, newest first:|No images found\.)/.test(textOf(result));
  }

  /** The linked tool's result: a list opens the browser (thumbnails), anything else the images. */
  async function showToolResult(result) {
    if (!result.isError && isList(result)) {
      stopTicker();
      if (state.input && typeof state.input.query === "string") $("browse-query").value = state.input.query;
      setStatus("Recent images");
      $("studio").setAttribute("aria-busy", "false");
      toggleBrowse(true);
      return;
    }
    await showResult(result, false);
  }

  var MAX_SHOWN = 10;
  async function showResult(result, append) {
    stopTicker();
    var ids = imageIds(result);
    var text = textOf(result);
    state.warnings = text.split("\n").filter(function (line) { return /^Warning: /.test(line); })
      .map(function (line) { return line.slice(9); });
    if (result.isError || ids.length === 0) {
      setStatus(text || "The result holds no image", Boolean(result.isError));
      $("studio").setAttribute("aria-busy", "false");
      return;
    }
    // A result naming more images than a studio shows loads only the first few.
    ids = ids.slice(0, MAX_SHOWN);
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
    // Side by side when there is more than one; a single image is the large view alone.
    row.hidden = state.images.length < 2;
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
    deleting = null;
    $("delete").textContent = "Delete";
    $("delete").hidden = !image.info.can_delete;
    $("download").hidden = !state.host.downloadFile;
    if (!$("variation").hidden) quoteVariation().catch(fail);
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
    if (!form.hidden) {
      $("instruction").focus();
      quoteEdit().catch(fail);
    }
  }

  // The edit's price, shown beside Apply edit: the mask counts as one more input image, so the
  // quote names the image again in its place (the painted PNG is sent only with the edit).
  var editQuote = null;
  var editQuoting = 0;
  function showPrice(result, priceId) {
    var price = result.structuredContent.max_usd;
    var reason = result.structuredContent.reason;
    $(priceId).textContent = typeof price === "number" ? "Price: at most " + usd(price)
      : "Price unknown" + (reason ? " (" + reason + ")" : "");
    return typeof price === "number" ? usd(price) : "price unknown";
  }
  async function quoteEdit() {
    var image = current();
    var prompt = $("instruction").value.trim();
    if (!image || !prompt) {
      editQuote = null;
      $("edit-price").textContent = "";
      $("apply-edit").textContent = "Apply edit";
      return null;
    }
    var key = image.id + "|" + (mask.strokes.length > 0) + "|" + prompt;
    if (editQuote && editQuote.key === key) return editQuote;
    var ticket = ++editQuoting;
    var args = { operation: "edit", prompt: prompt, images: [image.id] };
    if (mask.strokes.length > 0) args.mask = image.id;
    var result = await callTool("quote_image", args);
    if (ticket !== editQuoting) return null;
    editQuote = { key: key, usd: result.structuredContent.max_usd };
    $("apply-edit").textContent = "Apply edit (" + showPrice(result, "edit-price") + ")";
    return editQuote;
  }

  // A button, not a form submit: a sandbox without allow-forms blocks form submission.
  async function applyEdit() {
    var image = current();
    var prompt = $("instruction").value.trim();
    if (!image || !prompt) return;
    // The price shown before this click is the confirmation a price gate asks for.
    var quote = await quoteEdit();
    var args = { prompt: prompt, images: [image.id] };
    if (mask.strokes.length > 0) args.mask = maskDataUrl();
    if (quote && typeof quote.usd === "number") args.confirm_price_usd = quote.usd;
    $("apply-edit").disabled = true;
    try {
      await run("edit_image", args, "Editing " + image.id + "…");
      toggleEdit(false);
    } finally {
      $("apply-edit").disabled = false;
    }
  }

  // ---- running generations: one at a time, cancellable -------------------------------------
  var running = null;
  async function run(tool, args, label) {
    if (running) throw new Error("A generation is already running");
    running = { label: label };
    startTicker(label);
    $("cancel-run").hidden = false;
    try {
      var result = await callTool(tool, args, running);
      await showResult(result, true);
    } catch (error) {
      if (!running.cancelled) fail(error);
    } finally {
      running = null;
      $("cancel-run").hidden = true;
    }
  }
  /** The server's progress for the running generation, when the host passes it on. */
  function showProgress(params) {
    if (!running || params.progressToken !== running.id || typeof params.message !== "string") return;
    stopTicker();
    setStatus(running.label + " " + params.message);
  }
  function cancelRun() {
    if (!running || running.id === undefined) return;
    running.cancelled = true;
    cancelRequest(running.id, "Cancelled in the studio");
    stopTicker();
    setStatus("Cancelled");
  }

  // ---- variations: same prompt, another size or quality, priced first ----------------------
  var quoted = null;
  var quoting = 0;
  function variationArgs() {
    var info = current().info;
    var args = { prompt: info.prompt, size: $("variation-size").value, quality: $("variation-quality").value };
    if (info.model) args.model = info.model;
    return args;
  }
  async function quoteVariation() {
    var button = $("variation-run");
    button.disabled = true;
    quoted = null;
    $("variation-price").textContent = "Pricing…";
    var args = variationArgs();
    // Only the latest choice is priced on screen: an earlier quote may answer after it.
    var ticket = ++quoting;
    try {
      var result = await callTool("quote_image", args);
      if (ticket !== quoting) return;
      var price = result.structuredContent.max_usd;
      quoted = { args: args, usd: price };
      button.textContent = "Generate (" + showPrice(result, "variation-price") + ")";
      button.disabled = false;
    } catch (error) {
      if (ticket === quoting) $("variation-price").textContent = error.message;
    }
  }
  function toggleVariation(open) {
    var panel = $("variation");
    panel.hidden = open === undefined ? !panel.hidden : !open;
    $("variation-toggle").setAttribute("aria-expanded", String(!panel.hidden));
    if (!panel.hidden) quoteVariation().catch(fail);
  }
  async function runVariation() {
    if (!quoted) return;
    // The price was shown before this click: it is the confirmation a price gate asks for.
    // An unknown price confirms nothing: the server's gate asks or explains.
    var args = typeof quoted.usd === "number"
      ? Object.assign({}, quoted.args, { confirm_price_usd: quoted.usd })
      : Object.assign({}, quoted.args);
    $("variation-run").disabled = true;
    try {
      await run("generate_image", args, "Generating a variation…");
    } finally {
      $("variation-run").disabled = false;
    }
  }

  // ---- download, link, delete -------------------------------------------------------------
  async function download() {
    var image = current();
    var comma = image.src.indexOf(",");
    var mime = image.src.slice(5, image.src.indexOf(";"));
    var result = await request("ui/download-file", {
      contents: [{ type: "resource", resource: { uri: "image://" + image.id, mimeType: mime, blob: image.src.slice(comma + 1) } }],
    });
    setStatus(result && result.isError ? "Download not done" : "Downloaded " + image.id, result && result.isError);
  }
  async function copyLink() {
    var link = "image://" + current().id;
    try {
      await navigator.clipboard.writeText(link);
      setStatus("Copied " + link);
    } catch (_) {
      // The host did not grant clipboard writing: show the link to copy by hand.
      setStatus("Link: " + link);
    }
  }
  var deleting = null;
  async function deleteImage() {
    var image = current();
    var button = $("delete");
    if (deleting !== image.id) {
      // A second click confirms: sandboxed views may not open confirm() dialogs.
      deleting = image.id;
      button.textContent = "Confirm delete";
      return;
    }
    deleting = null;
    button.textContent = "Delete";
    await callTool("delete_image", { id: image.id });
    state.images = state.images.filter(function (other) { return other.id !== image.id; });
    renderVariants();
    if (state.images.length > 0) select(0);
    else {
      // Nothing left to zoom, edit or vary: the keys that act on a picture do nothing.
      state.selected = -1;
      toggleEdit(false);
      toggleVariation(false);
      $("detail").hidden = true;
    }
    setStatus("Deleted " + image.id);
  }

  // ---- browser of recent images ------------------------------------------------------------
  var browsing = { cursor: null, latest: 0 };
  async function browse(more) {
    // Only the latest search fills the grid: an earlier one may answer after it.
    var ticket = ++browsing.latest;
    var args = {};
    var query = $("browse-query").value.trim();
    if (query) args.query = query;
    if (more && browsing.cursor) args.cursor = browsing.cursor;
    var result = await callTool("browse_images", args);
    if (ticket !== browsing.latest) return;
    var page = result.structuredContent;
    var grid = $("browse-grid");
    if (!more) grid.replaceChildren();
    page.images.forEach(function (image) {
      var button = document.createElement("button");
      button.type = "button";
      button.dataset.id = image.id;
      button.title = image.prompt || image.id;
      if (typeof image.thumbnail === "string" && /^data:image\//.test(image.thumbnail)) {
        var img = document.createElement("img");
        img.src = image.thumbnail;
        img.alt = image.prompt || "Image " + image.id;
        button.append(img);
      } else {
        button.textContent = image.prompt || image.id;
      }
      button.addEventListener("click", function () { openImage(image.id).catch(fail); });
      grid.append(button);
    });
    if (page.images.length === 0 && !more) grid.textContent = "No images found.";
    browsing.cursor = page.next_cursor;
    $("browse-more").hidden = !page.next_cursor;
  }
  function toggleBrowse(open) {
    var panel = $("browser");
    panel.hidden = open === undefined ? !panel.hidden : !open;
    $("browse-toggle").setAttribute("aria-expanded", String(!panel.hidden));
    if (!panel.hidden) browse(false).catch(fail);
  }
  async function openImage(id) {
    setStatus("Opening " + id + "…");
    state.warnings = [];
    state.images = [await loadImage(id)];
    renderVariants();
    select(0);
    toggleBrowse(false);
    setStatus("1 image");
    $("studio").setAttribute("aria-busy", "false");
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
    var end = function () {
      if (mask.drawing) quoteEdit().catch(fail);
      mask.drawing = null;
    };
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    $("zoom").addEventListener("click", toggleZoom);
    $("edit-toggle").addEventListener("click", function () { toggleEdit(); });
    $("eraser").addEventListener("click", function () { setEraser(!mask.eraser); });
    $("undo").addEventListener("click", undo);
    $("clear-mask").addEventListener("click", function () { mask.strokes = []; redraw(); });
    $("apply-edit").addEventListener("click", function () { applyEdit().catch(fail); });
    $("cancel-run").addEventListener("click", cancelRun);
    $("download").addEventListener("click", function () { download().catch(fail); });
    $("copy-link").addEventListener("click", function () { copyLink().catch(fail); });
    $("delete").addEventListener("click", function () { deleteImage().catch(fail); });
    $("variation-toggle").addEventListener("click", function () { toggleVariation(); });
    $("variation-size").addEventListener("change", function () { quoteVariation().catch(fail); });
    $("variation-quality").addEventListener("change", function () { quoteVariation().catch(fail); });
    $("variation-run").addEventListener("click", function () { runVariation().catch(fail); });
    $("browse-toggle").addEventListener("click", function () { toggleBrowse(); });
    $("browse-search").addEventListener("click", function () { browse(false).catch(fail); });
    $("browse-query").addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); browse(false).catch(fail); }
    });
    $("browse-more").addEventListener("click", function () { browse(true).catch(fail); });
    $("instruction").addEventListener("input", function () { quoteEdit().catch(fail); });
    $("instruction").addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); applyEdit().catch(fail); }
    });
    document.addEventListener("keydown", function (event) {
      var typing = event.target instanceof HTMLTextAreaElement || event.target instanceof HTMLInputElement ||
        event.target instanceof HTMLSelectElement;
      if ((event.ctrlKey || event.metaKey) && event.key === "z" && !typing) { event.preventDefault(); undo(); return; }
      if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
      if (event.key === "Escape" && running) { cancelRun(); return; }
      if (event.key === "b") { toggleBrowse(); return; }
      if (state.selected < 0) return;
      if (event.key === "z") toggleZoom();
      else if (event.key === "v") toggleVariation();
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
    state.host = (result && result.hostCapabilities) || {};
    applyContext((result && result.hostContext) || {});
    notify("ui/notifications/initialized");
  }).catch(fail);
})();
`;
