// Statistical analysis: differential expression of two sample groups of a dataset with
// values (POST /api/v1/analysis/de: Welch and limma moderated t, BH), the record's group
// sizes (by characteristic or GDS subset), a cross-tabulation of its two main factors,
// and summary statistics of the search on screen.

import { ApiError, getJSON } from "../api.js";
import { fmt, h, plural, replace } from "../dom.js";
import { describe, groupsOf, informativeKeys, shares } from "./common.js";

const TOP_ROWS = 100;
const POLL_MS = 300;

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

// -- differential expression ---------------------------------------------------------

async function postJSON(path, body) {
  let resp;
  try {
    resp = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "Network error", "The server could not be reached.");
  }
  const data = await resp.json().catch(() => null);
  if (!resp.ok) {
    const title = (data && typeof data.title === "string" && data.title) || resp.statusText || "Error";
    const detail = data && typeof data.detail === "string" ? data.detail : `HTTP ${resp.status}`;
    throw new ApiError(resp.status, title, detail, data);
  }
  return data;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls the job until it ends; `onProgress(stage)` hears each new stage. */
async function waitForJob(url, onProgress) {
  for (;;) {
    const job = await getJSON(url);
    if (job.state === "done") return job.result;
    if (job.state === "failed") {
      throw new ApiError(422, "The comparison failed", job.result?.error ?? job.errors?.[0]?.reason ?? "unknown error");
    }
    onProgress(job.progress?.stage ?? job.state);
    await sleep(POLL_MS);
  }
}

function label(g) {
  return `${g.key}: ${g.value} (n=${g.n})`;
}

/** Default pair: the first subset type (or characteristic) with exactly two values. */
function defaultPair(groups) {
  const byKey = new Map();
  for (const [i, g] of groups.entries()) {
    if (!byKey.has(g.key)) byKey.set(g.key, []);
    byKey.get(g.key).push(i);
  }
  for (const idx of byKey.values()) if (idx.length === 2) return idx;
  for (const idx of byKey.values()) if (idx.length > 2) return idx.slice(0, 2);
  return [0, Math.min(1, groups.length - 1)];
}

function pValue(x) {
  if (typeof x !== "number") return "–";
  return x < 1e-3 ? x.toExponential(2) : x.toFixed(4);
}

function signed(x, digits = 2) {
  if (typeof x !== "number") return "–";
  return `${x > 0 ? "+" : ""}${x.toFixed(digits)}`;
}

const COLUMNS = [
  { key: "probe", label: "Probe", text: true },
  { key: "gene", label: "Gene", text: true },
  { key: "log2fc", label: "log2 FC", show: (r) => signed(r.log2fc) },
  { key: "mod_t", label: "Moderated t", show: (r) => signed(r.mod_t) },
  { key: "mod_p_adj", label: "Adj. p (limma)", show: (r) => pValue(r.mod_p_adj) },
  { key: "p_adj", label: "Adj. p (Welch)", show: (r) => pValue(r.p_adj) },
];

function topTable(result) {
  const state = { key: "mod_p_adj", dir: 1 };
  const body = h("tbody");
  const heads = COLUMNS.map((c) => h("th", { scope: "col", class: c.text ? null : "num", "aria-sort": "none" },
    h("button", { type: "button", class: "link-button", dataset: { sort: c.key }, on: { click: () => sortBy(c.key) } }, c.label)));
  const abs = (k) => k === "log2fc" || k === "mod_t";
  function value(r, k) {
    const v = r[k];
    if (v === null || v === undefined) return null;
    return abs(k) ? Math.abs(v) : v;
  }
  function draw() {
    const { key, dir } = state;
    const rows = [...result.results].sort((a, b) => {
      const x = value(a, key);
      const y = value(b, key);
      if (x === null || y === null) return (x === null) - (y === null);
      return (x < y ? -1 : x > y ? 1 : 0) * dir;
    }).slice(0, TOP_ROWS);
    replace(body, rows.map((r) => h("tr", { class: r.log2fc > 0 ? "up" : "down" },
      COLUMNS.map((c) => (c.text ? h("td", null, r[c.key] ?? "–") : h("td", { class: "num" }, c.show(r)))))));
    COLUMNS.forEach((c, i) => heads[i].setAttribute("aria-sort", c.key === key ? (dir > 0 ? "ascending" : "descending") : "none"));
  }
  function sortBy(key) {
    // Fold change and t sort by size, largest first; p-values smallest first.
    state.dir = state.key === key ? -state.dir : (abs(key) ? -1 : 1);
    state.key = key;
    draw();
  }
  draw();
  return h("div", { class: "table-wrap" }, h("table", { class: "de-table" },
    h("caption", { class: "visually-hidden" }, "Top differentially expressed probes"),
    h("thead", null, h("tr", null, heads)), body));
}

function resultView(result, tsvUrl) {
  const { group, vs } = result.groups;
  const sig = result.results.filter((r) => typeof r.mod_p_adj === "number" && r.mod_p_adj < 0.05);
  const up = sig.filter((r) => r.log2fc > 0).length;
  return h("div", { class: "de-result" },
    h("p", null, `${group.label} (${plural(group.samples.length, "sample")}) vs ${vs.label} (${plural(vs.samples.length, "sample")}): `,
      `${fmt(result.n_probes)} probes; values ${result.log_transformed ? "log2-transformed (they were not on a log scale)" : "already on a log scale"}.`),
    h("div", { class: "stat-grid" },
      h("div", { class: "stat" }, h("span", { class: "value" }, fmt(sig.length)), h("span", { class: "label" }, "Probes at adj. p < 0.05")),
      h("div", { class: "stat" }, h("span", { class: "value" }, fmt(up)), h("span", { class: "label" }, `Higher in ${group.label}`)),
      h("div", { class: "stat" }, h("span", { class: "value" }, fmt(sig.length - up)), h("span", { class: "label" }, `Higher in ${vs.label}`))),
    h("p", null, h("a", { class: "btn btn-small", href: tsvUrl, download: `${result.accession}_de.tsv` }, "Download TSV"),
      ` Top ${TOP_ROWS} of ${fmt(result.n_probes)} probes; click a column to sort.`),
    topTable(result));
}

async function deSection(record) {
  if (record.record_type !== "dataset" && record.record_type !== "series") return [];
  let info;
  try {
    info = await getJSON(`/api/v1/analysis/groups/${encodeURIComponent(record.accession)}`);
  } catch {
    return [];
  }
  if (!info.has_values) return [];
  const out = [h("h3", null, "Differential expression")];
  const groups = info.groups.filter((g) => g.n >= 2);
  if (groups.length < 2) {
    out.push(h("p", { class: "muted" }, "Fewer than two groups of at least two samples: nothing to compare."));
    return out;
  }
  const [ia, ib] = defaultPair(groups);
  const pick = (id, selected) => h("select", { id, class: "de-group" },
    groups.map((g, i) => h("option", { value: String(i), selected: i === selected }, label(g))));
  const a = pick("de-group", ia);
  const b = pick("de-vs", ib);
  const status = h("p", { class: "muted", role: "status", "aria-live": "polite" });
  const view = h("div");
  const run = h("button", { type: "button", class: "btn btn-primary", on: { click: go } }, "Compare");
  async function go() {
    const g = groups[Number(a.value)];
    const v = groups[Number(b.value)];
    run.disabled = true;
    replace(view);
    status.textContent = "Starting…";
    try {
      const job = await postJSON("/api/v1/analysis/de", {
        accession: info.accession, group: `${g.key}:${g.value}`, vs: `${v.key}:${v.value}`,
      });
      const result = await waitForJob(job.url, (stage) => { status.textContent = `Running: ${stage}…`; });
      status.textContent = "";
      replace(view, resultView(result, job.tsv));
    } catch (err) {
      status.textContent = "";
      replace(view, h("p", { class: "flag", role: "alert" }, `${err.title ?? "Error"}: ${err.detail ?? err.message}`));
    } finally {
      run.disabled = false;
    }
  }
  out.push(
    h("p", { class: "muted" }, "Per probe: Welch t-test and limma's moderated t-test (empirical Bayes), log2 fold change, Benjamini–Hochberg adjusted p-values; genes from the platform annotation."),
    h("div", { class: "de-controls" },
      h("label", { for: "de-group" }, "Group "), a, h("label", { for: "de-vs" }, " vs "), b, " ", run),
    status, view);
  return out;
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
  const parts = record ? [...(await deSection(record)), ...(await groupSection(record, api))] : [];
  parts.push(...(lastSearch ? searchSection(lastSearch)
    : [h("h3", null, "The result set on screen"), h("p", { class: "muted" }, "Run a search to summarize its results here.")]));
  replace(container, parts);
}
