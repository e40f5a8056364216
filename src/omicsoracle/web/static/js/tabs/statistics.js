// Statistical analysis: differential expression of two sample groups of a dataset with
// values (POST /api/v1/analysis/de: Welch and limma moderated t, BH), the record's group
// sizes (by characteristic or GDS subset), a cross-tabulation of its two main factors,
// and summary statistics of the search on screen.

import { ApiError, getJSON, isAbort, postJSON, sleep, url } from "../api.js";
import { fmt, h, plural, replace } from "../dom.js";
import { describe, groupsOf, informativeKeys, shares } from "./common.js";

const TOP_ROWS = 100;
const POLL_MS = 300;
// A GDS507 comparison takes about 2 s; a queued one waits for those before it.
const POLL_LIMIT_MS = 120_000;

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



/** Polls the comparison (GET /api/v1/analysis/de/{id}: its state, and once done the
 * first page of the top table, never the multi-MB job result) until it ends, at most
 * POLL_LIMIT_MS. `onProgress(stage)` hears each stage; `signal` stops it. */
async function waitForTable(tableUrl, { signal, onProgress }) {
  const deadline = Date.now() + POLL_LIMIT_MS;
  for (;;) {
    const page = await getJSON(url(tableUrl, { limit: TOP_ROWS }), { signal });
    if (page.state === "done") return page;
    if (page.state === "failed") throw new ApiError(422, "The comparison failed", page.error ?? "unknown error");
    if (Date.now() > deadline) {
      throw new ApiError(504, "The comparison is taking too long",
        `No result after ${POLL_LIMIT_MS / 60_000} minutes; the server may be busy. Press Compare to look again.`);
    }
    onProgress(page.progress?.stage ?? page.state);
    await sleep(POLL_MS, signal);
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

/** The top table: one page of rows from the server, sorted there (a click on a column
 * asks for that column's top rows of the whole table, not of the rows on screen). */
function topTable(first, tableUrl) {
  const state = { key: "mod_p_adj", dir: 1 };
  const body = h("tbody");
  const problem = h("p", { class: "flag", role: "alert", hidden: true });
  const heads = COLUMNS.map((c) => h("th", { scope: "col", class: c.text ? null : "num", "aria-sort": "none" },
    h("button", { type: "button", class: "link-button", dataset: { sort: c.key }, on: { click: () => sortBy(c.key) } }, c.label)));
  const abs = (k) => k === "log2fc" || k === "mod_t";
  let asked = 0;
  function draw(rows) {
    const { key, dir } = state;
    replace(body, rows.map((r) => h("tr", { class: r.log2fc > 0 ? "up" : "down" },
      COLUMNS.map((c) => (c.text ? h("td", null, r[c.key] ?? "–") : h("td", { class: "num" }, c.show(r)))))));
    COLUMNS.forEach((c, i) => heads[i].setAttribute("aria-sort", c.key === key ? (dir > 0 ? "ascending" : "descending") : "none"));
  }
  async function sortBy(key) {
    // Fold change and t sort by size, largest first; p-values and names smallest first.
    state.dir = state.key === key ? -state.dir : (abs(key) ? -1 : 1);
    state.key = key;
    const mine = ++asked;
    try {
      const page = await getJSON(url(tableUrl, { limit: TOP_ROWS, sort: key, descending: state.dir < 0 }));
      if (mine !== asked) return; // a later click won
      problem.hidden = true;
      draw(page.results);
    } catch (err) {
      if (mine !== asked) return;
      problem.textContent = `The table could not be sorted: ${err.detail ?? err.message}`;
      problem.hidden = false;
    }
  }
  draw(first.results);
  return h("div", { class: "table-wrap" }, problem, h("table", { class: "de-table" },
    h("caption", { class: "visually-hidden" }, "Top differentially expressed probes"),
    h("thead", null, h("tr", null, heads)), body));
}

function scaleNote(result) {
  const scale = result.log_scale ?? {};
  if (scale.decided_by === "quantiles (declared type contradicted)") {
    return `values log2-transformed: the dataset declares them as “${scale.value_type}”, but they are not on a log scale.`;
  }
  if (scale.decided_by === "value_type") {
    return result.log_transformed
      ? `values log2-transformed (the dataset declares them as “${scale.value_type}”).`
      : `values used as they are (the dataset declares them as “${scale.value_type}”, already on a log scale).`;
  }
  return `values ${result.log_transformed ? "log2-transformed (they were not on a log scale)" : "already on a log scale"}.`;
}

function resultView(result, tableUrl, tsvUrl) {
  const { group, vs } = result.groups;
  const sig = result.significant ?? { n: 0, up: 0, down: 0 };
  const from = result.values_from && result.values_from !== result.accession
    ? h("p", { class: "muted" }, `${result.accession} has no values of its own: they come from its GEO DataSet ${result.values_from}.`)
    : null;
  return h("div", { class: "de-result" },
    from,
    h("p", null, `${group.label} (${plural(group.samples.length, "sample")}) vs ${vs.label} (${plural(vs.samples.length, "sample")}): `,
      `${fmt(result.n_probes)} probes; ${scaleNote(result)}`),
    h("div", { class: "stat-grid" },
      h("div", { class: "stat" }, h("span", { class: "value" }, fmt(sig.n)), h("span", { class: "label" }, "Probes at adj. p < 0.05")),
      h("div", { class: "stat" }, h("span", { class: "value" }, fmt(sig.up)), h("span", { class: "label" }, `Higher in ${group.label}`)),
      h("div", { class: "stat" }, h("span", { class: "value" }, fmt(sig.down)), h("span", { class: "label" }, `Higher in ${vs.label}`))),
    h("p", null, h("a", { class: "btn btn-small", href: tsvUrl, download: `${result.accession}_de.tsv` }, "Download TSV"),
      ` Top ${TOP_ROWS} of ${fmt(result.total ?? result.n_probes)} probes; click a column to sort.`),
    topTable(result, tableUrl));
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
  // One comparison followed at a time: a new one, or the tab closing, stops the last.
  let current = null;
  const shown = () => view.isConnected && !view.closest("[hidden]");
  async function go() {
    current?.abort();
    const control = new AbortController();
    current = control;
    const g = groups[Number(a.value)];
    const v = groups[Number(b.value)];
    replace(view);
    status.textContent = "Starting…";
    const watch = setInterval(() => { if (!shown()) control.abort(); }, POLL_MS);
    try {
      const job = await postJSON("/api/v1/analysis/de", {
        accession: info.accession, group: `${g.key}:${g.value}`, vs: `${v.key}:${v.value}`,
      }, { signal: control.signal });
      const tableUrl = job.table ?? `/api/v1/analysis/de/${encodeURIComponent(job.job_id)}`;
      const first = await waitForTable(tableUrl, {
        signal: control.signal,
        onProgress: (stage) => { if (current === control) status.textContent = `Running: ${stage}…`; },
      });
      // An older comparison can finish after a newer one started (its last poll was
      // already answered when the abort came): the newer one owns the view.
      if (current !== control) return;
      status.textContent = "";
      replace(view, resultView(first, tableUrl, job.tsv));
    } catch (err) {
      if (current !== control) return; // another comparison took over the view
      status.textContent = "";
      if (isAbort(err)) {
        replace(view, h("p", { class: "muted", role: "status" }, "Stopped following the comparison when the tab closed. Press Compare to see its result."));
      } else {
        replace(view, h("p", { class: "flag", role: "alert" }, `${err.title ?? "Error"}: ${err.detail ?? err.message}`));
      }
    } finally {
      clearInterval(watch);
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
