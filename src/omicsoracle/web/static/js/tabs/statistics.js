// Statistical analysis: the record's group sizes (by characteristic or GDS subset), a
// cross-tabulation of its two main factors, and summary statistics of the search on screen.

import { fmt, h, plural, replace } from "../dom.js";
import { describe, groupsOf, informativeKeys, shares } from "./common.js";

// Fewer samples per group than this leaves no room for replicate-based tests.
const MIN_REPLICATES = 3;
const MAX_CROSS = 12;

function num(x, digits = 1) {
  if (typeof x !== "number" || !Number.isFinite(x)) return "–";
  return Number.isInteger(x) ? fmt(x) : x.toFixed(digits);
}

function pct(part, whole) {
  return whole ? `${((100 * part) / whole).toFixed(1)}%` : "–";
}

function tableOf(headers, rows, caption) {
  return h("div", { class: "table-wrap" }, h("table", null,
    caption ? h("caption", { class: "visually-hidden" }, caption) : null,
    h("thead", null, h("tr", null, headers.map((t, i) => h("th", { scope: "col", class: i ? "num" : null }, t)))),
    h("tbody", null, rows)));
}

function shareRow(label, n, whole) {
  return h("tr", null, h("th", { scope: "row" }, label || "(empty)"), h("td", { class: "num" }, fmt(n)),
    h("td", { class: "num" }, pct(n, whole)),
    h("td", { class: "bar-cell" }, h("meter", { min: 0, max: whole || 1, value: n, "aria-hidden": "true" })));
}

function stat(label, value) {
  return h("div", { class: "stat" }, h("span", { class: "value" }, value), h("span", { class: "label" }, label));
}

async function groupSection(record, api) {
  const groups = await groupsOf(record, api);
  const bySubset = groups.source === "subsets";
  const out = [h("h3", null, bySubset ? "Group sizes by subset" : "Group sizes by sample characteristic")];
  if (!groups.keys.size) {
    out.push(h("p", { class: "muted" }, bySubset ? "This dataset has no subsets."
      : "No sample characteristics are stored for this series, so its groups are unknown."));
    return out;
  }
  const total = groups.samples ?? 0;
  if (total) out.push(h("p", { class: "muted" }, `${plural(total, "sample")} in this ${record.record_type}.`));
  const constant = [];
  for (const [key, values] of groups.keys) {
    if (values.size === 1 && !bySubset) {
      const [[value, n]] = values;
      constant.push(h("li", null, h("span", { class: "k" }, `${key}: `), value, n < total ? ` (${fmt(n)} samples)` : ""));
      continue;
    }
    const sizes = [...values.values()];
    const d = describe(sizes);
    const small = [...values].filter(([, n]) => n < MIN_REPLICATES);
    const rows = [...values].sort((a, b) => b[1] - a[1]).map(([v, n]) => shareRow(v, n, total || d.sum));
    out.push(h("h4", null, key),
      h("p", null, `${plural(values.size, "group")}; sizes ${num(d.min)}–${num(d.max)}, median ${num(d.median)}.`,
        small.length && values.size < sizes.reduce((a, b) => a + b, 0)
          ? h("span", { class: "flag" }, ` ${plural(small.length, "group")} with fewer than ${MIN_REPLICATES} samples.`)
          : null),
      tableOf(["Value", "Samples", "Share", ""], rows, `Samples by ${key}`));
  }
  if (constant.length) out.push(h("h4", null, "The same in every sample"), h("ul", { class: "plain" }, constant));
  const cross = crossTab(groups);
  if (cross) out.push(cross);
  return out;
}

/** Samples by the two most informative characteristics: how balanced the design is. */
function crossTab(groups) {
  if (!groups.list) return null;
  const keys = informativeKeys(groups.keys).filter((k) => groups.keys.get(k).size <= MAX_CROSS);
  if (keys.length < 2) return null;
  const [a, b] = keys;
  const colValues = [...groups.keys.get(b).keys()];
  const counts = new Map();
  for (const sample of groups.list) {
    const map = new Map((sample.characteristics ?? []).map(([k, v]) => [String(k).trim(), String(v).trim()]));
    if (!map.has(a) || !map.has(b)) continue;
    const key = `${map.get(a)}\u0000${map.get(b)}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const rows = [...groups.keys.get(a).keys()].map((va) => h("tr", null, h("th", { scope: "row" }, va || "(empty)"),
    colValues.map((vb) => {
      const n = counts.get(`${va}\u0000${vb}`) ?? 0;
      return h("td", { class: ["num", n > 0 && n < MIN_REPLICATES && "flag"] }, fmt(n));
    })));
  return [h("h4", null, `Cross-tabulation: ${a} × ${b}`),
    tableOf([`${a} \\ ${b}`, ...colValues], rows, `Samples by ${a} and ${b}`)];
}

function searchSection(search) {
  const results = search.results ?? [];
  const what = search.query ? `“${search.query}”` : "all series";
  const out = [h("h3", null, `The result set on screen: ${what}`)];
  if (!results.length) {
    out.push(h("p", { class: "muted" }, "The search on screen has no results."));
    return out;
  }
  const d = describe(results.map((r) => r.n_samples));
  const years = describe(results.map((r) => (r.release_date ? Number(r.release_date.slice(0, 4)) : null)));
  out.push(h("p", { class: "muted" }, `Computed over the ${fmt(results.length)} loaded results of ${fmt(search.total)}; scroll the results to load more.`),
    h("div", { class: "stat-grid" },
      stat("Series loaded", fmt(results.length)),
      stat("Median samples", num(d.median)),
      stat("Quartiles (Q1–Q3)", d.n ? `${num(d.q1)}–${num(d.q3)}` : "–"),
      stat("Range", d.n ? `${num(d.min)}–${num(d.max)}` : "–"),
      stat("Mean samples", num(d.mean)),
      stat("Samples in total", fmt(d.sum ?? 0)),
      stat("Release years", years.n ? `${years.min}–${years.max}` : "–")),
    d.n < results.length ? h("p", { class: "muted" }, `${plural(results.length - d.n, "series")} without a sample count left out.`) : null);
  for (const [field, label] of [["organisms", "Organism"], ["types", "Experiment type"], ["platforms", "Platform"]]) {
    const counts = shares(results, field);
    if (!counts.length) continue;
    const rows = counts.slice(0, 10).map(([v, n]) => shareRow(v, n, results.length));
    out.push(h("h4", null, `Share per ${label.toLowerCase()}`),
      tableOf([label, "Series", "Share", ""], rows, `Loaded series by ${label.toLowerCase()}`),
      counts.length > 10 ? h("p", { class: "muted" }, `… and ${plural(counts.length - 10, "more value")}. A series can have several.`) : null);
  }
  return out;
}

export async function render(container, { record, lastSearch, api }) {
  const parts = record ? await groupSection(record, api) : [];
  parts.push(...(lastSearch ? searchSection(lastSearch)
    : [h("h3", null, "The result set on screen"), h("p", { class: "muted" }, "Run a search to summarize its results here.")]));
  replace(container, parts);
}
