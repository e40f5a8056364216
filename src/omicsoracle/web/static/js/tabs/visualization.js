// SVG charts drawn with DOM APIs: the search on screen (facets) and the record's samples.
// Colours are SVG presentation attributes (not CSS), so a downloaded SVG looks the same.

import { fmt, h, replace } from "../dom.js";
import { groupsOf, informativeKeys } from "./common.js";

const NS = "http://www.w3.org/2000/svg";
const FONT = "system-ui, -apple-system, Segoe UI, Roboto, sans-serif";
const BAR = "#3b7dd8";
const MUTED_BAR = "#9aa3b2";
const WIDTH = 720;
const MAX_BARS = 20;

function s(tag, attrs, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs ?? {})) if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function text(x, y, content, attrs = {}) {
  return s("text", { x, y, fill: "currentColor", "font-family": FONT, "font-size": 12, ...attrs }, content);
}

function clip(label, max) {
  const str = String(label);
  return str.length > max ? `${str.slice(0, max - 1)}…` : str;
}

/** Round tick values covering [0, max]. */
export function ticks(max, count = 5) {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((st) => st >= raw);
  const out = [];
  for (let v = 0; v <= max + step * 0.999; v += step) out.push(Math.round(v * 1e6) / 1e6);
  return out;
}

function frame(title, height, ariaLabel) {
  return s("svg", {
    xmlns: NS, viewBox: `0 0 ${WIDTH} ${height}`, width: WIDTH, height, role: "img",
    "aria-label": ariaLabel, class: "chart-svg",
  }, s("title", null, title), text(WIDTH / 2, 22, title, { "text-anchor": "middle", "font-size": 15, "font-weight": 600 }));
}

/** Horizontal bars: long category labels stay readable. data: [{label, value, muted?}]. */
export function barChart({ title, xLabel, yLabel, data }) {
  const rows = data.slice(0, MAX_BARS);
  const left = 250;
  const right = 60;
  const top = 40;
  const rowH = 24;
  const height = top + rows.length * rowH + 50;
  const max = Math.max(1, ...rows.map((d) => d.value));
  const tickValues = ticks(max);
  const scale = (WIDTH - left - right) / tickValues[tickValues.length - 1];
  const svg = frame(title, height, `${title}: bar chart`);
  const axisY = top + rows.length * rowH;
  for (const t of tickValues) {
    const x = left + t * scale;
    svg.append(s("line", { x1: x, x2: x, y1: top - 4, y2: axisY, stroke: "currentColor", "stroke-opacity": 0.15 }),
      text(x, axisY + 16, fmt(t), { "text-anchor": "middle", "font-size": 11 }));
  }
  rows.forEach((d, i) => {
    const y = top + i * rowH;
    const w = Math.max(1, d.value * scale);
    svg.append(s("g", { class: "bar" },
      s("title", null, `${d.label}: ${fmt(d.value)}`),
      text(left - 8, y + rowH / 2 + 4, clip(d.label, 34), { "text-anchor": "end", "font-size": 11 }),
      s("rect", { x: left, y: y + 3, width: w, height: rowH - 6, rx: 2, fill: d.muted ? MUTED_BAR : BAR }),
      text(left + w + 4, y + rowH / 2 + 4, fmt(d.value), { "font-size": 11 })));
  });
  svg.append(s("line", { x1: left, x2: left, y1: top - 4, y2: axisY, stroke: "currentColor", "stroke-opacity": 0.5 }),
    text(left + (WIDTH - left - right) / 2, height - 10, xLabel, { "text-anchor": "middle", "font-weight": 600 }),
    text(14, top + (axisY - top) / 2, yLabel, { "text-anchor": "middle", "font-weight": 600,
      transform: `rotate(-90 14 ${top + (axisY - top) / 2})` }));
  return svg;
}

/** Vertical columns over ordered categories (years, size buckets). */
export function columnChart({ title, xLabel, yLabel, data }) {
  const left = 64;
  const right = 16;
  const top = 40;
  const plotH = 200;
  const height = top + plotH + 64;
  const max = Math.max(1, ...data.map((d) => d.value));
  const tickValues = ticks(max);
  const yScale = plotH / tickValues[tickValues.length - 1];
  const colW = (WIDTH - left - right) / Math.max(1, data.length);
  const every = Math.ceil(data.length / 16); // label at most 16 categories
  const svg = frame(title, height, `${title}: column chart`);
  const base = top + plotH;
  for (const t of tickValues) {
    const y = base - t * yScale;
    svg.append(s("line", { x1: left, x2: WIDTH - right, y1: y, y2: y, stroke: "currentColor", "stroke-opacity": 0.15 }),
      text(left - 6, y + 4, fmt(t), { "text-anchor": "end", "font-size": 11 }));
  }
  data.forEach((d, i) => {
    const x = left + i * colW;
    const hgt = d.value * yScale;
    svg.append(s("g", { class: "bar" },
      s("title", null, `${d.label}: ${fmt(d.value)}`),
      s("rect", { x: x + colW * 0.1, y: base - hgt, width: colW * 0.8, height: Math.max(hgt, d.value ? 1 : 0), rx: 2, fill: BAR }),
      i % every === 0 ? text(x + colW / 2, base + 16, d.label, { "text-anchor": "middle", "font-size": 11 }) : null));
  });
  svg.append(s("line", { x1: left, x2: WIDTH - right, y1: base, y2: base, stroke: "currentColor", "stroke-opacity": 0.5 }),
    text(left + (WIDTH - left - right) / 2, height - 12, xLabel, { "text-anchor": "middle", "font-weight": 600 }),
    text(16, top + plotH / 2, yLabel, { "text-anchor": "middle", "font-weight": 600, transform: `rotate(-90 16 ${top + plotH / 2})` }));
  return svg;
}

/** A standalone SVG file of a chart: a white background and dark text baked in. */
export function svgFile(svg) {
  const copy = svg.cloneNode(true);
  copy.setAttribute("color", "#1c2330");
  copy.removeAttribute("class");
  copy.insertBefore(s("rect", { width: "100%", height: "100%", fill: "#ffffff" }), copy.firstChild);
  return `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(copy)}`;
}

function download(svg, name) {
  const blob = new Blob([svgFile(svg)], { type: "image/svg+xml" });
  const href = URL.createObjectURL(blob);
  const a = h("a", { href, download: `${name}.svg`, hidden: true });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 10_000);
}

function figure(svg, name, note) {
  return h("figure", { class: "chart" },
    h("figcaption", null, h("span", { class: "visually-hidden" }, svg.querySelector("title").textContent),
      h("button", { type: "button", class: "btn btn-small", on: { click: () => download(svg, name) } }, "Download SVG")),
    svg,
    note ? h("p", { class: "muted" }, note) : null);
}

function slug(text) {
  return String(text).toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 60) || "chart";
}

function searchCharts(search) {
  const f = search.facets ?? {};
  const what = search.query ? `“${search.query}”` : "all series";
  const out = [h("h3", null, `The search on screen: ${what} (${fmt(search.total)} series)`)];
  const facetBars = (name, label) => {
    const data = (f[name] ?? []).map((v) => ({ label: v.value, value: v.count, muted: v.value === "unknown" }));
    if (!data.length) return null;
    const more = data.length > MAX_BARS ? `Top ${MAX_BARS} of ${data.length} values.` : null;
    return figure(barChart({ title: `Series by ${label}`, xLabel: "Series", yLabel: label, data }), `search-${name}`, more);
  };
  out.push(facetBars("organism", "organism"), facetBars("type", "experiment type"), facetBars("platform", "platform"));
  const years = (f.year ?? []).filter((v) => /^\d{4}$/.test(v.value)).map((v) => [Number(v.value), v.count]);
  if (years.length) {
    const counts = new Map(years);
    const lo = Math.min(...counts.keys());
    const hi = Math.max(...counts.keys());
    const data = [];
    for (let y = lo; y <= hi; y += 1) data.push({ label: String(y), value: counts.get(y) ?? 0 });
    const unknown = (f.year ?? []).find((v) => v.value === "unknown");
    out.push(figure(columnChart({ title: "Release timeline", xLabel: "Release year", yLabel: "Series", data }), "search-timeline",
      unknown ? `${fmt(unknown.count)} series have no release date in the store and are not drawn.` : null));
  }
  const buckets = (f.samples ?? []).filter((v) => v.value !== "unknown").map((v) => ({ label: v.value, value: v.count }));
  if (buckets.length) {
    out.push(figure(columnChart({ title: "Sample-size histogram", xLabel: "Samples per series", yLabel: "Series", data: buckets }), "search-sample-sizes"));
  }
  return out;
}

async function recordCharts(record, api) {
  const groups = await groupsOf(record, api);
  const kind = groups.source === "subsets" ? "subset type" : "characteristic";
  const heading = h("h3", null, record.record_type === "dataset" ? "Samples per subset" : "Samples per characteristic value");
  if (!groups.keys.size) {
    return [heading, h("p", { class: "muted" }, groups.source === "subsets"
      ? "This dataset has no subsets to chart."
      : "No sample characteristics are stored for this series, so there is nothing to chart yet.")];
  }
  const keys = [...groups.keys.keys()];
  const useful = informativeKeys(groups.keys);
  const select = h("select", { id: "viz-key" }, keys.map((k) => h("option", { value: k }, `${k} (${groups.keys.get(k).size})`)));
  select.value = useful[0] ?? keys[0];
  const slot = h("div");
  const draw = () => {
    const values = groups.keys.get(select.value);
    const data = [...values].sort((a, b) => b[1] - a[1]).map(([label, value]) => ({ label: label || "(empty)", value }));
    const more = data.length > MAX_BARS ? `Top ${MAX_BARS} of ${data.length} values.` : null;
    const title = `${record.accession}: samples by ${select.value}`;
    replace(slot, figure(barChart({ title, xLabel: "Samples", yLabel: select.value, data }), slug(`${record.accession}-${select.value}`), more));
  };
  select.addEventListener("change", draw);
  draw();
  return [heading, h("div", { class: "chart-controls" }, h("label", { for: "viz-key" }, `Group by ${kind}`), select), slot];
}

export async function render(container, { record, lastSearch, api }) {
  const parts = record ? await recordCharts(record, api) : [];
  parts.push(...(lastSearch ? searchCharts(lastSearch)
    : [h("h3", null, "The search on screen"), h("p", { class: "muted" }, "Run a search to chart its organisms, experiment types, platforms, release years and sample sizes here.")]));
  replace(container, parts);
}
