// The dashboard's page: polls /api/overview every two seconds and redraws.
// Charts and operator graphs are inline SVG built here; no library.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const COLORS = ["#2f6fd0", "#d0702f", "#3c8a55", "#a23cc0", "#c0a23c", "#3cb6c0", "#c03c6a", "#6a6a6a"];

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const k of kids) e.append(k);
  return e;
}

function svgEl(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

function stateSpan(state) {
  return el("span", { class: "state " + state }, state);
}

function fmtNum(n) {
  if (n >= 1e6) return (n / 1e6).toFixed(1) + "M";
  if (n >= 1e4) return (n / 1e3).toFixed(1) + "k";
  return String(Math.round(n * 10) / 10);
}

function fmtBytes(n) {
  if (n >= 1 << 30) return (n / (1 << 30)).toFixed(1) + " GiB";
  if (n >= 1 << 20) return (n / (1 << 20)).toFixed(1) + " MiB";
  if (n >= 1 << 10) return (n / (1 << 10)).toFixed(1) + " KiB";
  return n + " B";
}

function table(head, rows) {
  const t = el("table", {}, el("tr", {}, ...head.map(h => el("th", {}, h))));
  for (const r of rows) {
    t.append(el("tr", {}, ...r.map(c => {
      if (typeof c === "number") return el("td", { class: "num" }, String(c));
      return el("td", {}, c == null ? "" : c);
    })));
  }
  return t;
}

// chart draws series ({name, points: [[t, v]...]}) as polylines over the
// time span [t0, t1] (unix ms).
function chart(title, unit, series, t0, t1) {
  const W = 520, H = 140, L = 44, B = 18, T = 8, R = 8;
  const box = el("div", { class: "chart" }, el("div", { class: "title" }, title));
  const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img" });
  let max = 0;
  for (const s of series) for (const [, v] of s.points) max = Math.max(max, v);
  if (max <= 0) max = 1;
  const span = Math.max(t1 - t0, 1);
  const x = t => L + (t - t0) / span * (W - L - R);
  const y = v => T + (1 - v / max) * (H - T - B);
  svg.append(svgEl("line", { x1: L, y1: y(0), x2: W - R, y2: y(0), stroke: "#bbb" }));
  svg.append(svgEl("line", { x1: L, y1: T, x2: L, y2: H - B, stroke: "#bbb" }));
  for (const [v, label] of [[max, fmtNum(max)], [0, "0"]]) {
    const t = svgEl("text", { x: L - 4, y: y(v) + 4, "text-anchor": "end", "font-size": 10, fill: "#555" });
    t.textContent = label;
    svg.append(t);
  }
  const ago = svgEl("text", { x: L, y: H - 4, "font-size": 10, fill: "#555" });
  ago.textContent = `-${Math.round(span / 1000)}s`;
  const now = svgEl("text", { x: W - R, y: H - 4, "font-size": 10, fill: "#555", "text-anchor": "end" });
  now.textContent = "now";
  svg.append(ago, now);
  const legend = el("div", { class: "legend" });
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const pts = s.points.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
    // A single sample still shows, as a dot.
    svg.append(svgEl("polyline", { points: s.points.length === 1 ? pts + " " + pts : pts, stroke: color,
      fill: "none", "stroke-width": 2, "vector-effect": "non-scaling-stroke", "stroke-linecap": "round" }));
    legend.append(el("span", {}, el("i", { style: "background:" + color }), s.name));
  });
  box.append(svg, legend, el("div", { class: "legend" }, "unit: " + unit));
  return box;
}

// shardSeries turns the history into per-shard throughput (records/s
// between consecutive samples) and lag series for one source.
function shardSeries(history, source) {
  const rate = new Map(), lag = new Map();
  const prefix = source + "/";
  for (let i = 0; i < history.length; i++) {
    const s = history[i], t = Date.parse(s.at);
    for (const [key, v] of Object.entries(s.shards || {})) {
      if (!key.startsWith(prefix)) continue;
      const name = key.slice(prefix.length);
      if (!lag.has(name)) { lag.set(name, []); rate.set(name, []); }
      lag.get(name).push([t, v.millis_behind_latest]);
      const prev = i > 0 && history[i - 1].shards && history[i - 1].shards[key];
      if (prev) {
        const dt = (t - Date.parse(history[i - 1].at)) / 1000;
        if (dt > 0) rate.get(name).push([t, Math.max(0, (v.records - prev.records) / dt)]);
      }
    }
  }
  const list = m => [...m].map(([name, points]) => ({ name, points }));
  return { rate: list(rate), lag: list(lag) };
}

// layout places a graph's nodes in layers: a node sits one layer below the
// deepest node it reads, so sources are on top and the view at the bottom.
function graphSVG(graph) {
  const nodes = graph.nodes || [], edges = graph.edges || [];
  const ins = new Map(nodes.map(n => [n.id, []]));
  for (const e of edges) if (ins.has(e.to)) ins.get(e.to).push(e.from);
  const layer = new Map();
  const depth = (id, seen) => {
    if (layer.has(id)) return layer.get(id);
    if (seen.has(id)) return 0;
    seen.add(id);
    let d = 0;
    for (const f of ins.get(id) || []) d = Math.max(d, depth(f, seen) + 1);
    layer.set(id, d);
    return d;
  };
  nodes.forEach(n => depth(n.id, new Set()));
  const rows = [];
  for (const n of nodes) (rows[layer.get(n.id)] ||= []).push(n);
  const withStats = nodes.some(n => n.stats);
  const CH = 7.2, BH = withStats ? 44 : 28, GAPX = 24, GAPY = 36, PAD = 10, MAXC = 60;
  const statsText = s => `in ${fmtNum(s.rows_in)} (${fmtNum(s.rows_in_per_sec)}/s) · out ${fmtNum(s.rows_out)} (${fmtNum(s.rows_out_per_sec)}/s)` +
    (s.watermark ? " · wm " + s.watermark.slice(11, 19) : "") +
    (s.cache_hit_ratio !== undefined ? " · hits " + (100 * s.cache_hit_ratio).toFixed(1) + "%" : "");
  const label = n => n.label.length > MAXC ? n.label.slice(0, MAXC - 1) + "…" : n.label;
  const pos = new Map();
  let width = 0;
  rows.forEach((row, r) => {
    let x = PAD;
    for (const n of row) {
      const w = Math.max(label(n).length, n.stats ? statsText(n.stats).length : 0) * CH + 16;
      pos.set(n.id, { x, y: PAD + r * (BH + GAPY), w });
      x += w + GAPX;
    }
    width = Math.max(width, x);
  });
  const height = PAD * 2 + rows.length * (BH + GAPY) - GAPY;
  const svg = svgEl("svg", { width: Math.max(width, 100), height: Math.max(height, 40), class: "opgraph" });
  const defs = svgEl("defs");
  const marker = svgEl("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto" });
  marker.append(svgEl("path", { d: "M0,0 L10,5 L0,10 z", fill: "#5b7bb4", stroke: "none" }));
  defs.append(marker);
  svg.append(defs);
  for (const e of edges) {
    const a = pos.get(e.from), b = pos.get(e.to);
    if (!a || !b) continue;
    const x1 = a.x + a.w / 2, y1 = a.y + BH, x2 = b.x + b.w / 2, y2 = b.y, my = (y1 + y2) / 2;
    svg.append(svgEl("path", { class: "edge", d: `M${x1},${y1} C${x1},${my} ${x2},${my} ${x2},${y2}`, "marker-end": "url(#arrow)" }));
  }
  for (const n of nodes) {
    const p = pos.get(n.id);
    const g = svgEl("g", { class: "node" });
    const title = svgEl("title");
    title.textContent = n.label;
    const isSource = (ins.get(n.id) || []).length === 0;
    const text = svgEl("text", { x: p.x + 8, y: p.y + (withStats ? 17 : BH / 2 + 4) });
    text.textContent = label(n);
    g.append(title, svgEl("rect", { x: p.x, y: p.y, width: p.w, height: BH, rx: 4, class: isSource ? "source" : "op" }), text);
    if (n.stats) {
      const st = svgEl("text", { x: p.x + 8, y: p.y + 35, class: "stats" });
      st.textContent = statsText(n.stats);
      g.append(st);
    }
    svg.append(g);
  }
  return svg;
}

function render(data) {
  const cur = data.current, hist = data.history || [];
  const t1 = Date.parse(data.now), t0 = hist.length ? Math.min(Date.parse(hist[0].at), t1 - 60000) : t1 - 60000;

  const failed = document.getElementById("failed");
  failed.replaceChildren();
  for (const v of cur.views || []) {
    if (v.state === "running" || v.state === "backfilling") continue;
    failed.append(el("li", { class: "failed-view" }, el("b", {}, v.name), " ", stateSpan(v.state), ": ",
      el("span", { class: "error" }, v.error || "(no error recorded)")));
  }
  document.getElementById("failed-section").hidden = failed.children.length === 0;

  const sources = document.getElementById("sources");
  sources.replaceChildren();
  for (const s of cur.sources || []) {
    const card = el("div", { class: "card source", "data-name": s.name }, el("h3", {}, "source " + s.name));
    if (!(s.shards || []).length) card.append(el("p", { class: "empty" }, "no shard reader running now"));
    else card.append(table(["consumer", "shard", "state", "reader", "records", "bytes", "ms behind", "decode errors", "late", "error"],
      (s.shards || []).map(sh => [sh.consumer, sh.shard_id, stateSpan(sh.state), sh.reader, sh.records, sh.bytes,
        sh.millis_behind_latest, sh.decode_errors, sh.late_records, el("span", { class: "error" }, sh.last_error || "")])));
    const ser = shardSeries(hist, s.name);
    card.append(el("div", { class: "charts" },
      chart("throughput per shard", "records/s", ser.rate, t0, t1),
      chart("lag per shard (MillisBehindLatest)", "ms", ser.lag, t0, t1)));
    sources.append(card);
  }
  if (!sources.children.length) sources.append(el("p", { class: "empty" }, "no sources"));

  const views = document.getElementById("views");
  views.replaceChildren();
  for (const v of cur.views || []) {
    const card = el("div", { class: "card view", "data-name": v.name }, el("h3", {}, "view " + v.name, " ", stateSpan(v.state)));
    const wm = v.watermark ? new Date(v.watermark) : null;
    const lag = wm ? ((t1 - wm.getTime()) / 1000).toFixed(1) + "s behind now" : "";
    card.append(el("div", { class: "meta" }, "watermark: " + (wm ? wm.toISOString() + " (" + lag + ")" : "none yet") +
      " · committed epoch " + v.committed_epoch));
    if (v.error) card.append(el("div", { class: "error" }, v.error));
    card.append(el("div", { class: "graph" }, graphSVG(v.graph || {})));
    views.append(card);
  }
  if (!views.children.length) views.append(el("p", { class: "empty" }, "no materialized views"));

  const sinks = document.getElementById("sinks");
  sinks.replaceChildren();
  if ((cur.sinks || []).length) {
    sinks.append(el("div", { class: "card" }, table(["sink", "state", "records sent", "outbox depth", "error"],
      cur.sinks.map(s => [s.name, stateSpan(s.state), s.records, s.outbox_depth, el("span", { class: "error" }, s.error || "")]))));
  } else {
    sinks.append(el("p", { class: "empty" }, "no sinks"));
  }

  const cp = cur.checkpoints || {};
  const cps = document.getElementById("checkpoints");
  cps.replaceChildren();
  const card = el("div", { class: "card" }, el("div", { class: "meta" },
    `${cp.count || 0} committed · p50 ${fmtNum(cp.p50_ms || 0)} ms · p99 ${fmtNum(cp.p99_ms || 0)} ms · max ${fmtNum(cp.max_ms || 0)} ms` +
    ` · last wrote ${fmtBytes(cp.last_bytes || 0)} (${fmtBytes(cp.bytes || 0)} in all)`));
  // Bytes written per second between consecutive samples.
  const written = [];
  for (let i = 1; i < hist.length; i++) {
    const dt = (Date.parse(hist[i].at) - Date.parse(hist[i - 1].at)) / 1000;
    if (dt > 0) written.push([Date.parse(hist[i].at), Math.max(0, ((hist[i].checkpoints.bytes || 0) - (hist[i - 1].checkpoints.bytes || 0)) / dt)]);
  }
  card.append(el("div", { class: "charts" }, chart("checkpoint duration (p50 and p99 of those so far)", "ms", [
    { name: "p50", points: hist.map(s => [Date.parse(s.at), s.checkpoints.p50_ms]) },
    { name: "p99", points: hist.map(s => [Date.parse(s.at), s.checkpoints.p99_ms]) },
  ], t0, t1), chart("bytes checkpoints wrote to the state store", "bytes/s", [
    { name: "written", points: written },
  ], t0, t1)));
  cps.append(card);
}

async function refresh() {
  const status = document.getElementById("status");
  try {
    const resp = await fetch("api/overview", { cache: "no-store" });
    if (!resp.ok) throw new Error(resp.status + " " + (await resp.text()));
    render(await resp.json());
    status.className = "";
    status.textContent = "updated " + new Date().toLocaleTimeString();
  } catch (err) {
    status.className = "error";
    status.textContent = "cannot reach the engine: " + err.message;
  }
}

refresh();
setInterval(refresh, 2000);
