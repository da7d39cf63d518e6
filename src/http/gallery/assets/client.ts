/**
 * The gallery's only script, served as `/assets/gallery.<hash>.js`. Every page works without it;
 * it adds: model-dependent choices on the generate form, live progress on a job page (server-sent
 * events), and a copy-link button. No inline handlers, so a strict Content-Security-Policy holds.
 *
 * @module
 */

/** The script. */
export const GALLERY_JS = String.raw`(function () {
  "use strict";

  function formatSeconds(total) {
    var s = Math.max(0, Math.floor(total));
    if (s < 60) return s + " s";
    return Math.floor(s / 60) + " min " + String(s % 60).padStart(2, "0") + " s";
  }

  function fillSelect(select, choices, preferred) {
    if (!(select instanceof HTMLSelectElement)) return;
    var previous = select.value;
    while (select.options.length > 0) select.remove(0);
    var values = [];
    choices.forEach(function (choice) {
      values.push(choice[0]);
      select.add(new Option(choice[1], choice[0]));
    });
    if (values.indexOf(previous) >= 0) select.value = previous;
    else if (values.indexOf(preferred) >= 0) select.value = preferred;
  }

  function showField(form, name, visible) {
    var field = form.querySelector('[data-field="' + name + '"]');
    if (!field) return;
    field.hidden = !visible;
    field.querySelectorAll("input, select, textarea").forEach(function (element) {
      element.disabled = !visible;
    });
  }

  function counting(from, to, zeroLabel) {
    var out = [];
    for (var i = from; i <= to; i++) out.push([String(i), i === 0 && zeroLabel ? zeroLabel : String(i)]);
    return out;
  }

  function setupGenerateForm(form) {
    var data = document.getElementById("model-choices");
    var model = form.elements.namedItem("model");
    if (!data || !(model instanceof HTMLSelectElement)) return;
    var models = {};
    JSON.parse(data.textContent || "[]").forEach(function (choice) {
      models[choice.id] = choice;
    });
    function apply() {
      var m = models[model.value];
      if (!m) return;
      fillSelect(form.elements.namedItem("size"), m.sizes, m.defaultSize);
      showField(form, "size_custom", m.customSize);
      var hint = form.querySelector("[data-size-hint]");
      if (hint) hint.textContent = m.sizeHint;
      fillSelect(form.elements.namedItem("quality"), m.qualities, m.defaultQuality);
      fillSelect(form.elements.namedItem("output_format"), m.formats, "png");
      showField(form, "output_format", m.formats.length > 0);
      fillSelect(form.elements.namedItem("background"), m.backgrounds, "auto");
      showField(form, "background", m.backgrounds.length > 0);
      fillSelect(form.elements.namedItem("n"), counting(1, m.maxImages), "1");
      fillSelect(
        form.elements.namedItem("partial_images"),
        counting(0, m.maxPartialImages, "None"),
        "0",
      );
      showField(form, "partial_images", m.maxPartialImages > 0);
    }
    model.addEventListener("change", apply);
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      if (button) {
        button.setAttribute("aria-disabled", "true");
        button.textContent = "Starting…";
      }
    });
  }

  function setupJob(section) {
    var url = section.getAttribute("data-job-events");
    if (!url || typeof EventSource === "undefined") return;
    var elapsed = section.querySelector("[data-elapsed]");
    var stage = section.querySelector("[data-stage]");
    var list = section.querySelector("[data-partials]");
    var source = new EventSource(url);
    var finished = false;
    function finish() {
      if (finished) return;
      finished = true;
      source.close();
      window.location.replace(window.location.href);
    }
    source.addEventListener("progress", function (event) {
      var d = JSON.parse(event.data);
      if (elapsed) elapsed.textContent = formatSeconds(d.elapsedSeconds);
      if (stage && d.stageLabel) stage.textContent = d.stageLabel;
    });
    source.addEventListener("partial", function (event) {
      var d = JSON.parse(event.data);
      if (!list) return;
      list.hidden = false;
      var img = list.querySelector('img[data-index="' + d.index + '"]');
      if (!img) {
        var item = document.createElement("li");
        img = document.createElement("img");
        img.setAttribute("data-index", String(d.index));
        img.alt = "Partial preview " + (d.index + 1);
        item.appendChild(img);
        list.appendChild(item);
      }
      img.src = d.dataUrl;
    });
    source.addEventListener("done", finish);
    source.addEventListener("failure", finish);
    source.addEventListener("error", function () {
      // The browser retries a dropped connection by itself; only a closed stream needs help.
      if (source.readyState === EventSource.CLOSED && !finished) {
        finished = true;
        window.setTimeout(function () {
          window.location.reload();
        }, 3000);
      }
    });
    window.addEventListener("pagehide", function () {
      source.close();
    });
  }

  function setupCopy(button) {
    var input = document.getElementById(button.getAttribute("data-copy-target") || "");
    var status = document.querySelector("[data-copy-status]");
    if (!(input instanceof HTMLInputElement)) return;
    button.hidden = false;
    function say(text) {
      if (status) status.textContent = text;
    }
    function selectIt() {
      input.focus();
      input.select();
      say("Link selected: press Ctrl+C to copy it");
    }
    button.addEventListener("click", function () {
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(function () {
          say("Link copied to the clipboard");
        }, selectIt);
      } else {
        selectIt();
      }
    });
  }

  document.querySelectorAll("form[data-generate-form]").forEach(setupGenerateForm);
  document.querySelectorAll("[data-job-events]").forEach(setupJob);
  document.querySelectorAll("[data-copy-target]").forEach(setupCopy);
})();
`;
