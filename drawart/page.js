/* The run's page (inlined into RUN/index.html by page.py).
 *
 * Redraws DRAW's strokes (drawart/export.py's documents) on a canvas of the browser's own device
 * pixels with the formulas of export.redraw, glimpse by glimpse, and draws the curves as inline
 * SVG. No library, no network.
 *
 * Address fragment keys: step (a milestone's step), t (glimpse, 0..T; given: paused there),
 * boxes (0 or 1), px (the drawing's longest side in device pixels, instead of the window's size),
 * test (1: write the canvas's pixels and any error into a new pre element, id test-output, for tests).
 */
(function () {
  "use strict";

  var run = JSON.parse(document.getElementById("run-data").textContent);
  var docs = JSON.parse(document.getElementById("strokes-data").textContent);
  var DISPLAY_BLUR = 0.5; // windows.DISPLAY_BLUR, training pixels
  var CUTOFF = 10; // filter weights beyond 10 σ of their centre (below e^-50) are left out
  var MAX_PIXELS = 6e6; // a bigger stage is drawn at this many device pixels and scaled up
  var FRAME_MS = 90; // per glimpse while playing
  var THUMB = 96; // longest side of a milestone's thumbnail, CSS pixels
  var SVG = "http://www.w3.org/2000/svg"; // the namespace name, not an address that is fetched

  function $(id) { return document.getElementById(id); }

  // ------------------------------------------------------------------------------------------
  // A drawing: canvas logits c_t of one strokes document at `scale` output pixels per training
  // pixel, moved glimpse by glimpse.

  function Drawing(doc, scale) {
    this.doc = doc;
    this.scale = scale;
    this.width = Math.max(1, Math.round(doc.image.width * scale));
    this.height = Math.max(1, Math.round(doc.image.height * scale));
    this.channels = doc.image.channels;
    this.longest = Math.max(doc.image.width, doc.image.height);
    this.logits = new Float32Array(this.width * this.height * this.channels);
    this.filters = [];
    this.reset();
  }

  Drawing.prototype.glimpses = function () { return this.doc.glimpses.length; };

  // A glimpse's patch: page.py packs it as base64 of its float32 values, little-endian, in
  // (channel, row, column) order; unpacked once, when a drawing first needs it.
  function patchValues(glimpse) {
    if (typeof glimpse.patch === "string") {
      var bytes = atob(glimpse.patch), view = new DataView(new ArrayBuffer(bytes.length));
      for (var b = 0; b < bytes.length; b++) view.setUint8(b, bytes.charCodeAt(b));
      var values = new Float32Array(bytes.length / 4);
      for (var v = 0; v < values.length; v++) values[v] = view.getFloat32(4 * v, true);
      glimpse.patch = values;
    }
    return glimpse.patch;
  }

  Drawing.prototype.reset = function () {
    var start = this.doc.canvas_start, channels = this.channels;
    for (var p = 0; p < this.logits.length; p++) this.logits[p] = start[p % channels];
    this.t = 0;
  };

  // (N, size) filter rows along one axis (windows.axis_filters; the JavaScript twin of the window types): output pixel j's centre is at
  // j + 0.5, filter i's at μ_i = (centre + (i − (N−1)/2)·stride·L)·scale, spread σ·L·scale.
  // Returns the rows and the span [lo, hi] of pixels any of them reaches.
  Drawing.prototype.axis = function (centre, win, size) {
    var n = this.doc.write_n, s = this.scale, L = this.longest;
    var local = this.doc.window === "local";
    // windows.display_blur: above the training size a local stroke is widened, never finer than a pixel
    var sigma = local ? Math.sqrt(win.sigma * L * win.sigma * L + DISPLAY_BLUR * DISPLAY_BLUR * Math.max(0, 1 - 1 / (s * s))) : win.sigma * L;
    var spread = sigma * s, stride = win.stride * L * s;
    var rows = new Float32Array(n * size), lo = size, hi = -1;
    for (var i = 0; i < n; i++) {
      var mu = (centre + (i - (n - 1) / 2) * win.stride * L) * s;
      var j0 = Math.max(0, Math.floor(mu - CUTOFF * spread)), j1 = Math.min(size - 1, Math.ceil(mu + CUTOFF * spread));
      var sum = 0, j, d, w;
      for (j = j0; j <= j1; j++) {
        d = j + 0.5 - mu;
        w = Math.exp(-d * d / (2 * spread * spread));
        rows[i * size + j] = w;
        sum += w;
      }
      // paper: each row sums to `scale` over the output's pixels; local: unit area times the stride
      var k = local ? win.stride * L / sigma / Math.sqrt(2 * Math.PI) : s / (sum + 1e-8);
      for (j = j0; j <= j1; j++) rows[i * size + j] *= k;
      if (j0 <= j1) { lo = Math.min(lo, j0); hi = Math.max(hi, j1); }
    }
    return { rows: rows, lo: lo, hi: hi, stride: stride };
  };

  Drawing.prototype.glimpseFilters = function (g) {
    if (!this.filters[g]) {
      var win = this.doc.glimpses[g].write, image = this.doc.image;
      this.filters[g] = {
        x: this.axis(win.x * image.width, win, this.width),
        y: this.axis(win.y * image.height, win, this.height),
      };
    }
    return this.filters[g];
  };

  // c ± (1/γ)·F_Yᵀ·patch·F_X for every channel, over the pixels the filters reach.
  Drawing.prototype.apply = function (g, sign) {
    var glimpse = this.doc.glimpses[g], f = this.glimpseFilters(g), n = this.doc.write_n;
    var fx = f.x, fy = f.y;
    if (fx.hi < 0 || fy.hi < 0) return;
    var W = this.width, H = this.height, C = this.channels, span = fx.hi - fx.lo + 1;
    var across = new Float64Array(n * span), factor = sign / glimpse.write.gamma;
    for (var c = 0; c < C; c++) {
      var patch = patchValues(glimpse), i, k, x, y;
      across.fill(0);
      for (i = 0; i < n; i++) {
        for (k = 0; k < n; k++) {
          var p = patch[(c * n + i) * n + k] * factor, row = k * W + fx.lo, out = i * span;
          if (p === 0) continue;
          for (x = 0; x < span; x++) across[out + x] += p * fx.rows[row + x];
        }
      }
      for (y = fy.lo; y <= fy.hi; y++) {
        var base = (y * W + fx.lo) * C + c;
        for (i = 0; i < n; i++) {
          var weight = fy.rows[i * H + y];
          if (weight === 0) continue;
          var from = i * span;
          for (x = 0; x < span; x++) this.logits[base + x * C] += weight * across[from + x];
        }
      }
    }
  };

  // To canvas t: glimpses added going forward, taken off going back (from c_0 when that is nearer).
  Drawing.prototype.go = function (t) {
    t = Math.max(0, Math.min(this.glimpses(), t));
    if (t < this.t && t <= this.t - t) this.reset();
    while (this.t < t) { this.apply(this.t, 1); this.t++; }
    while (this.t > t) { this.t--; this.apply(this.t, -1); }
    return this;
  };

  // σ(c_t) into the canvas element, one device pixel per output pixel.
  Drawing.prototype.paint = function (canvas) {
    if (canvas.width !== this.width) canvas.width = this.width;
    if (canvas.height !== this.height) canvas.height = this.height;
    var context = canvas.getContext("2d");
    var image = context.createImageData(this.width, this.height), rgba = image.data;
    var C = this.channels, logits = this.logits, count = this.width * this.height;
    for (var p = 0; p < count; p++) {
      for (var c = 0; c < 3; c++) {
        rgba[4 * p + c] = 255 / (1 + Math.exp(-logits[p * C + (C === 1 ? 0 : c)]));
      }
      rgba[4 * p + 3] = 255;
    }
    context.putImageData(image, 0, 0);
  };

  // ------------------------------------------------------------------------------------------
  // The page's state: which milestone, which glimpse, boxes, playing.

  var state = { index: docs.length - 1, t: 0, boxes: true, px: 0, test: false };
  var drawing = null, timer = null;

  function selectedIndex(step) {
    for (var k = 0; k < docs.length; k++) if (docs[k].step === step) return k;
    return -1;
  }

  function readFragment() {
    var keys = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (pair) {
      if (!pair) return;
      var at = pair.indexOf("=");
      keys[decodeURIComponent(at < 0 ? pair : pair.slice(0, at))] = at < 0 ? "" : decodeURIComponent(pair.slice(at + 1));
    });
    var step = "step" in keys ? Number(keys.step) : run.selected;
    if (step !== null && step !== undefined && selectedIndex(step) >= 0) state.index = selectedIndex(step);
    state.boxes = keys.boxes !== "0";
    state.px = Number(keys.px) > 0 ? Number(keys.px) : 0;
    state.test = keys.test === "1";
    var given = "t" in keys && keys.t !== "" && !isNaN(Number(keys.t));
    if (docs.length) state.t = given ? Math.max(0, Math.min(docs[state.index].glimpses.length, Math.round(Number(keys.t)))) : 0;
    return given;
  }

  function writeFragment() {
    if (!docs.length) return;
    var hash = "#step=" + docs[state.index].step + "&t=" + state.t + (state.boxes ? "" : "&boxes=0") +
      (state.px ? "&px=" + state.px : "") + (state.test ? "&test=1" : "");
    if (location.hash !== hash) history.replaceState(null, "", hash);
  }

  // CSS pixels per training pixel that fill the stage, and output (device) pixels per training
  // pixel: the same times the device pixel ratio, or what gives `px` device pixels.
  function stageScales(doc) {
    var ratio = window.devicePixelRatio || 1, image = doc.image;
    if (state.px) {
      var scale = state.px / Math.max(image.width, image.height);
      return { css: scale / ratio, device: scale };
    }
    var wide = Math.max(100, $("stage").clientWidth);
    var tall = Math.max(160, window.innerHeight - $("controls").offsetHeight - 90);
    var css = Math.min(wide / image.width, tall / image.height);
    return { css: css, device: Math.min(css * ratio, Math.sqrt(MAX_PIXELS / (image.width * image.height))) };
  }

  function render() {
    var doc = docs[state.index], scales = stageScales(doc);
    if (!drawing || drawing.doc !== doc || drawing.scale !== scales.device) drawing = new Drawing(doc, scales.device);
    drawing.go(state.t);
    var canvas = $("drawing"), overlay = $("boxes");
    drawing.paint(canvas);
    canvas.style.width = overlay.style.width = scales.css * doc.image.width + "px";
    canvas.style.height = overlay.style.height = scales.css * doc.image.height + "px";
    drawBoxes(overlay, drawing, window.devicePixelRatio || 1);
    showControls(doc);
  }

  // The read (green) and write (red) windows of the glimpse that made canvas t: g ± N·stride/2.
  function drawBoxes(overlay, d, ratio) {
    overlay.width = d.width;
    overlay.height = d.height;
    var context = overlay.getContext("2d");
    context.clearRect(0, 0, d.width, d.height);
    if (!state.boxes || d.t < 1) return;
    var glimpse = d.doc.glimpses[d.t - 1], image = d.doc.image, s = d.scale;
    context.lineWidth = Math.max(1, Math.round(2 * ratio));
    [["read", d.doc.read_n, "rgb(0, 200, 0)"], ["write", d.doc.write_n, "rgb(230, 40, 40)"]].forEach(function (head) {
      var win = glimpse[head[0]];
      if (!win) return;
      var half = head[1] * win.stride * d.longest * s / 2;
      context.strokeStyle = head[2];
      context.strokeRect(win.x * image.width * s - half, win.y * image.height * s - half, 2 * half, 2 * half);
    });
  }

  function showControls(doc) {
    var last = doc.glimpses.length;
    $("scrub").max = last;
    $("scrub").value = state.t;
    $("glimpse").textContent = "glimpse " + state.t + " of " + last;
    $("play").textContent = timer ? "Pause" : "Play";
    $("boxes-toggle").checked = state.boxes;
    $("milestone").value = String(state.index);
    var figures = $("evolution").querySelectorAll("figure[data-index]");
    for (var k = 0; k < figures.length; k++) figures[k].classList.toggle("selected", Number(figures[k].dataset.index) === state.index);
    markCurves(doc.step);
  }

  function stop() {
    if (timer) clearTimeout(timer);
    timer = null;
  }

  function play() {
    if (timer) { stop(); render(); writeFragment(); return; }
    if (state.t >= docs[state.index].glimpses.length) state.t = 0;
    var tick = function () {
      if (state.t >= docs[state.index].glimpses.length) { stop(); render(); writeFragment(); return; }
      state.t += 1;
      timer = setTimeout(tick, FRAME_MS);
      render();
    };
    timer = setTimeout(tick, 0);
    render();
  }

  function show(index, t) {
    stop();
    state.index = index;
    state.t = t;
    render();
    writeFragment();
  }

  // ------------------------------------------------------------------------------------------
  // Milestones: a selector, and the finished drawing of each, small, beside the image trained on.

  function buildMilestones() {
    var select = $("milestone"), strip = $("evolution");
    var target = document.createElement("figure"), picture = new Image();
    picture.src = run.image;
    picture.alt = "the image trained on";
    var first = docs.length ? docs[0].image : null;
    var longest = first ? Math.max(first.width, first.height) : 1;
    picture.style.width = (first ? THUMB * first.width / longest : THUMB) + "px";
    target.appendChild(picture);
    target.appendChild(caption(run.dataset ? "from the data" : "trained on"));
    strip.appendChild(target);
    docs.forEach(function (doc, index) {
      var option = document.createElement("option");
      option.value = String(index);
      option.textContent = "step " + doc.step.toLocaleString("en-US");
      select.appendChild(option);
      var figure = document.createElement("figure"), canvas = document.createElement("canvas");
      figure.dataset.index = String(index);
      figure.title = "step " + doc.step + ": show its drawing";
      figure.appendChild(canvas);
      figure.appendChild(caption("step " + doc.step.toLocaleString("en-US")));
      figure.addEventListener("click", function () { show(index, doc.glimpses.length); });
      strip.appendChild(figure);
    });
    var notes = [];
    if (run.shown.length < run.drawn) {
      notes.push("Showing " + run.shown.length + " of " + run.drawn + " milestones, evenly spaced; drawart page --step S puts step S in.");
    }
    if (run.missing.length) notes.push("No strokes yet for step " + run.missing.join(", ") + ": drawart page adds them.");
    $("evolution-note").textContent = notes.join(" ");
  }

  function caption(text) {
    var element = document.createElement("figcaption");
    element.textContent = text;
    return element;
  }

  function paintThumbnails() {
    var ratio = window.devicePixelRatio || 1;
    var canvases = $("evolution").querySelectorAll("figure[data-index] canvas");
    for (var k = 0; k < canvases.length; k++) {
      var doc = docs[k], longest = Math.max(doc.image.width, doc.image.height);
      var small = new Drawing(doc, THUMB * ratio / longest).go(doc.glimpses.length);
      small.paint(canvases[k]);
      canvases[k].style.width = small.width / ratio + "px";
      canvases[k].style.height = small.height / ratio + "px";
    }
  }

  // ------------------------------------------------------------------------------------------
  // Curves against step, as inline SVG.

  function niceTicks(low, high, count) {
    if (!(high > low)) { high = low + 1; low = low - 1; }
    var raw = (high - low) / count, power = Math.pow(10, Math.floor(Math.log10(raw)));
    var step = [1, 2, 2.5, 5, 10].map(function (m) { return m * power; }).find(function (v) { return v >= raw; });
    var ticks = [];
    for (var v = Math.ceil(low / step) * step; v <= high + step * 1e-9; v += step) ticks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
    return ticks;
  }

  function label(value) {
    var size = Math.abs(value);
    if (size >= 1e6) return +(value / 1e6).toPrecision(3) + "M";
    if (size >= 1e4) return +(value / 1e3).toPrecision(3) + "k";
    return String(+value.toPrecision(4));
  }

  function element(name, attributes, parent) {
    var node = document.createElementNS(SVG, name);
    for (var key in attributes) node.setAttribute(key, attributes[key]);
    if (parent) parent.appendChild(node);
    return node;
  }

  var markers = [];

  function chart(title, series) {
    var W = 440, H = 230, left = 58, right = 22, top = 30, bottom = 34;
    var svg = element("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": title });
    var steps = [], values = [];
    series.forEach(function (line) {
      line.steps.forEach(function (s, k) {
        if (Number.isFinite(line.values[k])) { steps.push(s); values.push(line.values[k]); }
      });
    });
    element("text", { x: left, y: 18, "class": "title" }, svg).textContent = title;
    if (!values.length) {
      element("text", { x: left, y: H / 2 }, svg).textContent = "no rows yet";
      return svg;
    }
    var x0 = Math.min.apply(null, steps), x1 = Math.max.apply(null, steps);
    var y0 = Math.min.apply(null, values), y1 = Math.max.apply(null, values);
    var pad = (y1 - y0) * 0.06 || Math.abs(y0) * 0.06 || 1;
    y0 -= pad; y1 += pad;
    if (x1 === x0) { x0 -= 1; x1 += 1; }
    var px = function (s) { return left + (s - x0) / (x1 - x0) * (W - left - right); };
    var py = function (v) { return top + (y1 - v) / (y1 - y0) * (H - top - bottom); };
    niceTicks(y0, y1, 4).forEach(function (v) {
      element("line", { x1: left, x2: W - right, y1: py(v), y2: py(v), stroke: "#eee8dc" }, svg);
      element("text", { x: left - 6, y: py(v) + 4, "text-anchor": "end" }, svg).textContent = label(v);
    });
    niceTicks(x0, x1, 4).forEach(function (s) {
      if (s < x0 || s > x1) return;
      element("text", { x: px(s), y: H - bottom + 16, "text-anchor": "middle" }, svg).textContent = label(s);
    });
    // Under the value axis, in the tick labels' row: clear of the last step's label.
    element("text", { x: left - 6, y: H - bottom + 16, "text-anchor": "end" }, svg).textContent = "step";
    element("rect", { x: left, y: top, width: W - left - right, height: H - top - bottom, fill: "none", stroke: "#ddd6c8" }, svg);
    var marker = element("line", { y1: top, y2: H - bottom, stroke: "#3b5ba5", "stroke-dasharray": "4 3", visibility: "hidden" }, svg);
    markers.push({ line: marker, x: px, x0: x0, x1: x1 });
    series.forEach(function (line, k) {
      var points = line.steps.map(function (s, i) { return Number.isFinite(line.values[i]) ? px(s).toFixed(1) + "," + py(line.values[i]).toFixed(1) : null; });
      element("polyline", { points: points.filter(Boolean).join(" "), fill: "none", stroke: line.colour, "stroke-width": 1.6, "stroke-linejoin": "round" }, svg);
      if (series.length > 1) {
        element("text", { x: W - right - 4, y: top + 14 + 14 * k, "text-anchor": "end", style: "fill: " + line.colour }, svg).textContent = line.label;  // over the style sheet's grey
      }
    });
    return svg;
  }

  function markCurves(step) {
    markers.forEach(function (marker) {
      var inside = step >= marker.x0 && step <= marker.x1;
      marker.line.setAttribute("visibility", inside ? "visible" : "hidden");
      if (inside) { marker.line.setAttribute("x1", marker.x(step)); marker.line.setAttribute("x2", marker.x(step)); }
    });
  }

  function buildCurves() {
    var m = run.metrics, box = $("curves");
    var loss = [{ label: "training loss", colour: "#3b5ba5", steps: m.step, values: m.loss }];
    if (run.validation) loss.push({ label: "held-out bound", colour: "#c0602a", steps: run.validation.step, values: run.validation.bound });
    box.appendChild(chart("Loss (nats per image)", loss));
    box.appendChild(chart("PSNR (dB)", [{ label: "psnr", colour: "#2a8a5a", steps: m.step, values: m.psnr }]));
    box.appendChild(chart("KL (nats)", [{ label: "kl", colour: "#8a4aa8", steps: m.step, values: m.kl }]));
  }

  // ------------------------------------------------------------------------------------------
  // Words: summary, settings, resume command.

  function duration(seconds) {
    var s = Math.round(seconds), h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, r = s % 60;
    var two = function (v) { return (v < 10 ? "0" : "") + v; };
    return h ? h + ":" + two(m) + ":" + two(r) : m + ":" + two(r);
  }

  function buildWords() {
    var model = run.settings.model;
    $("title").textContent = run.name;
    var size = model.width + "×" + model.height + " " + (model.channels === 1 ? "gray" : "RGB");
    var how = model.attention ? model.glimpses + " glimpses, " + model.window + " windows" : model.glimpses + " glimpses, no attention";
    $("summary").textContent = "step " + run.step.toLocaleString("en-US") + " of " + run.steps.toLocaleString("en-US") +
      " · " + duration(run.seconds) + " trained · " + size + " · " + how + " · page written " + run.written;
    if (run.drawing) {
      var d = run.drawing;
      $("drawing-measures").textContent = "At step " + d.step.toLocaleString("en-US") + ", " + d.drawing + " of " + d.glimpses +
        " glimpses draw (each adds at least 0.05 dB) and " + Math.round(100 * d.late) + "% of the gain over the flat colour comes after the first quarter of them." +
        (d.drawing < d.glimpses / 2 ? " Fewer than half draw: the rest of the glimpses do nothing." : "");
    }
    $("resume").textContent = run.resume;
    ["model", "train", "image"].forEach(function (section) {
      var table = document.createElement("table");
      table.createCaption().textContent = section;
      Object.keys(run.settings[section]).forEach(function (key) {
        var row = table.insertRow();
        row.insertCell().textContent = key;
        row.insertCell().textContent = String(run.settings[section][key]);
      });
      $("settings").appendChild(table);
    });
    var versions = Object.keys(run.versions || {}).map(function (k) { return k + " " + run.versions[k]; }).join(", ");
    $("footer").textContent = run.path + " · made by drawart " + run.version + (versions ? " · trained with " + versions : "") +
      " · strokes as JSON: drawart export";
  }

  // ------------------------------------------------------------------------------------------
  // Wiring.

  function onKey(event) {
    var tag = event.target && event.target.tagName;
    if (!docs.length || tag === "INPUT" || tag === "SELECT" || tag === "BUTTON") return;
    if (event.key === " ") { event.preventDefault(); play(); }
    if (event.key === "ArrowRight") show(state.index, Math.min(state.t + 1, docs[state.index].glimpses.length));
    if (event.key === "ArrowLeft") show(state.index, Math.max(state.t - 1, 0));
  }

  var resizing = null;
  function onResize() {
    if (resizing) clearTimeout(resizing);
    resizing = setTimeout(function () { resizing = null; render(); paintThumbnails(); }, 120);
  }

  function start() {
    buildWords();
    buildCurves();
    buildMilestones();
    var given = readFragment();
    if (!docs.length) {
      $("frame").hidden = $("controls").hidden = true;
      $("no-drawing").hidden = false;
      $("no-drawing").textContent = run.attention ? "No drawing yet: the page shows one from the first milestone (--gif-every) on." :
        "This run was trained without attention: it writes whole canvases, not strokes, so there is no drawing to replay.";
      if (state.test) writeReport({ step: null, t: null, width: 0, height: 0, rgba: "" });
      return;
    }
    $("play").addEventListener("click", play);
    $("scrub").addEventListener("input", function () { show(state.index, Number($("scrub").value)); });
    $("boxes-toggle").addEventListener("change", function () { state.boxes = $("boxes-toggle").checked; render(); writeFragment(); });
    $("milestone").addEventListener("change", function () { show(Number($("milestone").value), state.t); });
    window.addEventListener("hashchange", function () { stop(); readFragment(); render(); });
    window.addEventListener("resize", onResize);
    document.addEventListener("keydown", onKey);
    var began = performance.now();
    render();
    state.firstRenderMs = performance.now() - began;
    if (state.test) return report();
    paintThumbnails();
    if (!given) play();
  }

  // Test mode: the drawing's pixels as asked for, then every control once, then any error.
  function report() {
    var canvas = $("drawing");
    var rgba = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    var text = "";
    for (var k = 0; k < rgba.length; k += 8192) text += String.fromCharCode.apply(null, rgba.subarray(k, k + 8192));
    var out = { step: docs[state.index].step, t: state.t, width: canvas.width, height: canvas.height, rgba: btoa(text),
      render_ms: state.firstRenderMs };
    paintThumbnails();
    state.boxes = true;
    docs.forEach(function (doc, index) {
      for (var t = doc.glimpses.length; t >= 0; t--) show(index, t);
    });
    play();
    play();
    onKey({ key: "ArrowRight", target: document.body, preventDefault: function () {} });
    writeReport(out);
  }

  function writeReport(out) {
    out.errors = window.drawartErrors.slice();
    var pre = document.createElement("pre");
    pre.id = "test-output";
    pre.textContent = JSON.stringify(out);
    document.body.appendChild(pre);
  }

  try {
    start();
  } catch (error) {
    window.drawartError(error && error.stack ? error.stack : error);
  }
})();
