// The visualization tab: charts of the search on screen (its facets: no second search),
// the record's sample groups, and for a dataset with values a volcano plot and heatmap
// from the statistics API's differential-expression job. Drawn with plotly.js, which is
// loaded only when the first chart is drawn (charts.js).

import { ApiError, getJSON, isAbort, postJSON, sleep, url } from "../api.js";
import { fmt, h, replace } from "../dom.js";
import { errorBox, loadingBox } from "../errors.js";
import { chartsFromFacets, download, draw, facetFigure, heatmapFigure, volcanoFigure } from "./charts.js";
import { groupsOf, informativeKeys } from "./common.js";

const MAX_BARS = 20;
const POLL_MS = 400;
const POLL_LIMIT_MS = 180_000;
// A reference group is picked as "vs" by default when one looks like it.
const REFERENCE = /\b(normal|control|healthy|untreated|wild[- ]?type|wt|baseline|vehicle|mock)\b/i;

function slug(text) {
  return String(text).toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 60) || "chart";
}

/** Draw once the element is in the document (plotly sizes a chart from its container). */
function whenConnected(el, fn, tries = 600) {
  if (el.isConnected) return fn();
  if (tries <= 0) return null;
  requestAnimationFrame(() => whenConnected(el, fn, tries - 1));
  return null;
}

/** A figure box: the plot, SVG/PNG download buttons and a note; drawn when attached. */
function chartBox(figure, name, note) {
  const title = figure.layout.title?.text ?? name;
  // Not role=img: the plot holds the modebar's buttons, which must stay reachable.
  const plot = h("div", { class: "plot" });
  const status = h("p", { class: "muted chart-status", role: "status" }, "Drawing chart…");
  const button = (format, label) => h("button", {
    type: "button", class: "btn btn-small", dataset: { format },
    on: { click: () => download(plot, format, name).catch((err) => box.append(h("p", { class: "notice notice-warn", role: "alert" }, String(err?.message ?? err)))) },
  }, label);
  const box = h("figure", { class: "chart", dataset: { chart: name } },
    h("figcaption", null, h("span", { class: "visually-hidden" }, title),
      button("svg", "Download SVG"), button("png", "Download PNG")),
    plot, status, note ? h("p", { class: "muted" }, note) : null);
  whenConnected(box, async () => {
    try {
      await draw(plot, figure, name);
      status.remove();
      box.dataset.drawn = "true";
    } catch (err) {
      replace(status, errorBox({ title: "This chart could not be drawn", detail: String(err?.message ?? err) }));
    }
  });
  return box;
}

function topNote(chart) {
  return chart.categories.length >= MAX_BARS ? `The ${chart.categories.length} most frequent values.` : null;
}

/** Charts of a search response already on screen: its facets, no request of its own. */
export function searchCharts(search) {
  const what = search.query ? `“${search.query}”` : "all series";
  const { charts } = chartsFromFacets(search.total, search.facets);
  const out = [h("h3", null, `The search on screen: ${what} (${fmt(search.total)} series)`)];
  if (!search.total) return [...out, h("p", { class: "muted" }, "No series matched, so there is nothing to chart.")];
  for (const name of ["organism", "type", "platform"]) {
    if (charts[name].categories.length) out.push(chartBox(facetFigure(charts[name]), `search-${name}`, topNote(charts[name])));
  }
  if (charts.year.categories.length) {
    out.push(chartBox(facetFigure(charts.year), "search-timeline",
      charts.year.unknown ? `${fmt(charts.year.unknown)} series have no release year in the store and are not drawn.` : null));
  }
  out.push(chartBox(facetFigure(charts.samples), "search-sample-sizes",
    charts.samples.unknown ? `${fmt(charts.samples.unknown)} series have no sample count and are not drawn.` : null));
  out.push(...overRepresentation(search));
  return out;
}

const FIELD_LABELS = {
  organism: "Organism", type: "Series type", platform: "Platform", disease: "Disease", tissue: "Tissue",
  cell_type: "Cell type", cell_line: "Cell line", gene: "Gene", characteristic: "Characteristic",
};
const SHOWN_TERMS = 25;

/** Which facet values the results hold more often than the corpus does: a statistical test
 * of its own (hypergeometric, BH-adjusted; /api/v1/analysis/enrichment), run on request. */
function overRepresentation(search) {
  const slot = h("div", { class: "enrichment", dataset: { enrichment: "" } });
  const run = async () => {
    replace(slot, loadingBox("Testing the results against the whole corpus…"));
    try {
      const body = await getJSON(url("/api/v1/analysis/enrichment", search.params ?? { q: search.query }));
      replace(slot, enrichmentTable(body));
    } catch (err) {
      replace(slot, errorBox(err, run));
    }
  };
  const button = h("button", { type: "button", class: "btn", on: { click: run } }, "Test over-representation");
  return [
    h("h3", null, "Over-represented in these results"),
    h("p", { class: "muted" }, "Organisms, series types, platforms and extracted entities (diseases, tissues, cell types, cell lines, genes, sample characteristics) that these results hold more often than the whole corpus: one-sided hypergeometric test, Benjamini–Hochberg adjusted."),
    h("div", { class: "chart-controls" }, button),
    slot,
  ];
}

function enrichmentTable(body) {
  const terms = (body.terms ?? []).filter((t) => t.p_adj !== undefined && t.fold > 1).slice(0, SHOWN_TERMS);
  if (!terms.length) return h("p", { class: "muted" }, "Nothing is over-represented in these results.");
  const head = ["Facet", "Value", "In results", "In corpus", "Fold", "Adjusted p"];
  const row = (t) => h("tr", { class: t.p_adj < 0.05 ? "significant" : null, dataset: { field: t.field, value: t.value } },
    h("td", null, FIELD_LABELS[t.field] ?? t.field),
    h("td", null, t.value),
    h("td", { class: "num" }, `${fmt(t.in_results)} of ${fmt(body.total)}`),
    h("td", { class: "num" }, `${fmt(t.in_corpus)} of ${fmt(body.corpus)}`),
    h("td", { class: "num" }, t.fold.toFixed(1)),
    h("td", { class: "num" }, t.p_adj < 1e-4 ? t.p_adj.toExponential(1) : t.p_adj.toFixed(4)));
  return h("div", { class: "table-wrap" }, h("table", { class: "enrichment-table" },
    h("caption", { class: "visually-hidden" }, "Over-represented facet values"),
    h("thead", null, h("tr", null, head.map((c, i) => h("th", { scope: "col", class: i > 1 ? "num" : null }, c)))),
    h("tbody", null, terms.map(row))));
}

/** The search page's charts panel (search.js). */
export function renderSearchCharts(container, search) {
  replace(container, search ? searchCharts(search) : h("p", { class: "muted" }, "Run a search to chart it."));
}

async function groupCharts(record, api) {
  const groups = await groupsOf(record, api);
  const kind = groups.source === "subsets" ? "subset type" : "characteristic";
  const heading = h("h3", null, record.record_type === "dataset" ? "Samples per subset" : "Samples per characteristic value");
  if (!groups.keys.size) {
    return [heading, h("p", { class: "muted" }, groups.source === "subsets"
      ? "This dataset has no subsets to chart."
      : "No sample characteristics are stored for this series, so there is nothing to chart yet.")];
  }
  const keys = [...groups.keys.keys()];
  const select = h("select", { id: "viz-key" }, keys.map((k) => h("option", { value: k }, `${k} (${groups.keys.get(k).size})`)));
  select.value = informativeKeys(groups.keys)[0] ?? keys[0];
  const slot = h("div");
  const redraw = () => {
    const values = [...groups.keys.get(select.value)].sort((a, b) => b[1] - a[1]).slice(0, MAX_BARS);
    const chart = {
      kind: "bar", title: `${record.accession}: samples by ${select.value}`, x_label: "Samples", y_label: select.value,
      categories: values.map(([v]) => v || "(empty)"), counts: values.map(([, n]) => n),
    };
    const figure = facetFigure(chart);
    figure.data[0].hovertemplate = "%{y}: %{x:,} samples<extra></extra>";
    replace(slot, chartBox(figure, slug(`${record.accession}-${select.value}`), topNote(chart)));
  };
  select.addEventListener("change", redraw);
  redraw();
  return [heading, h("div", { class: "chart-controls" }, h("label", { for: "viz-key" }, `Group by ${kind}`), select), slot];
}



/** The finished DE job's charts data: the comparison's summary and heatmap (its table
 * route with one row, polled while it runs) and the volcano's columns. Never the job's
 * whole result, which holds every probe (several MB for GDS507). `signal` stops it
 * (rejecting with an AbortError): the tab closing or a newer comparison. */
async function deResult(accession, group, vs, { signal, onProgress }) {
  const started = await postJSON("/api/v1/analysis/de", { accession, group, vs }, { signal });
  const id = encodeURIComponent(started.job_id);
  const tableUrl = started.table ?? `/api/v1/analysis/de/${id}`;
  const deadline = Date.now() + POLL_LIMIT_MS;
  for (;;) {
    const page = await getJSON(url(tableUrl, { limit: 1 }), { signal });
    if (page.state === "done") {
      const columns = await getJSON(started.volcano ?? `/api/v1/analysis/de/${id}/volcano`, { signal });
      return { id: started.job_id, result: { ...page, results: volcanoRows(columns) } };
    }
    if (page.state === "failed") throw new ApiError(422, "The comparison failed", String(page.error ?? "the comparison failed"));
    if (Date.now() > deadline) throw new ApiError(504, "The comparison is taking too long", "Try again later.");
    onProgress(page);
    await sleep(POLL_MS, signal);
  }
}

/** Row objects of the volcano's parallel arrays, in the shape charts.js draws. */
export function volcanoRows(columns) {
  return columns.probe.map((probe, i) => ({
    probe, gene: columns.gene[i], log2fc: columns.log2fc[i], mod_p_adj: 10 ** -columns.neg_log10_p_adj[i],
  }));
}

function unavailable(detail) {
  return h("div", { class: "state stats-unavailable", role: "status" },
    h("p", { class: "state-title" }, "Statistics not available"),
    h("p", null, detail));
}

/** Default comparison: the first key with two groups of 2+ samples; a reference-looking
 * value (normal, control...) as "vs". */
export function defaultComparison(groups) {
  const byKey = new Map();
  for (const g of groups) {
    if (g.n < 2) continue;
    if (!byKey.has(g.key)) byKey.set(g.key, []);
    byKey.get(g.key).push(g);
  }
  for (const values of byKey.values()) {
    if (values.length < 2) continue;
    const ref = values.find((g) => REFERENCE.test(g.value)) ?? values[1];
    const other = values.find((g) => g !== ref);
    return [`${other.key}:${other.value}`, `${ref.key}:${ref.value}`];
  }
  return null;
}

async function expressionCharts(record) {
  const acc = record.accession;
  const heading = h("h3", null, "Differential expression");
  let info;
  try {
    info = await getJSON(`/api/v1/analysis/groups/${encodeURIComponent(acc)}`);
  } catch (err) {
    const detail = err?.status === 404 && !String(err.detail ?? "").includes(acc)
      ? "The statistics service does not answer on this server yet."
      : `The sample groups of ${acc} could not be read (${err?.detail ?? err?.message ?? err}).`;
    return [heading, unavailable(detail)];
  }
  if (!info.has_values) return [heading, unavailable(`${acc} has no expression values stored, so there is no volcano plot or heatmap.`)];
  const options = (info.groups ?? []).filter((g) => g.n >= 2);
  const pick = defaultComparison(options);
  if (!pick) return [heading, unavailable(`${acc} has no two sample groups of at least 2 samples to compare.`)];
  const select = (id, value) => {
    const el = h("select", { id }, options.map((g) => h("option", { value: `${g.key}:${g.value}` }, `${g.key}: ${g.value} (${g.n})`)));
    el.value = value;
    return el;
  };
  // Ids of their own: the statistics tab's panel (in the page at the same time) has
  // de-group / de-vs, and a label's `for` must name one element.
  const group = select("viz-de-group", pick[0]);
  const vs = select("viz-de-vs", pick[1]);
  const slot = h("div", { class: "de-charts" });
  // One comparison followed at a time: a new one, or the panel closing, stops the last
  // (else it was polled for POLL_LIMIT_MS after the tab closed). The first one starts
  // before render() has put the slot in the page: out of the page counts as closed
  // only once the slot has been in it.
  let current = null;
  let placed = false;
  const closed = () => {
    if (!slot.isConnected) return placed;
    placed = true;
    return Boolean(slot.closest("[hidden]"));
  };
  const run = async () => {
    current?.abort();
    const control = new AbortController();
    current = control;
    if (group.value === vs.value) {
      replace(slot, h("p", { class: "notice" }, "Pick two different groups."));
      return;
    }
    replace(slot, loadingBox("Comparing the groups…"));
    const watch = setInterval(() => { if (closed()) control.abort(); }, POLL_MS);
    try {
      const { id, result } = await deResult(acc, group.value, vs.value, {
        signal: control.signal,
        onProgress: (j) => {
          if (current !== control) return;
          const pct = j.progress?.fraction ?? j.progress?.percent;
          replace(slot, loadingBox(typeof pct === "number" ? `Comparing the groups… ${Math.round(pct <= 1 ? pct * 100 : pct)}%` : "Comparing the groups…"));
        },
      });
      if (current !== control) return; // a newer comparison owns the charts
      const tsv = `/api/v1/analysis/de/${encodeURIComponent(id)}.tsv`;
      replace(slot,
        chartBox(volcanoFigure(result), slug(`${acc}-volcano`),
          `${fmt(result.n_probes ?? result.results?.length)} probes${result.values_from && result.values_from !== acc ? ` (values from ${result.values_from})` : ""}; significant: BH-adjusted moderated p < 0.05 and |log2 FC| ≥ 1.${result.log_transformed ? " Values were log2-transformed first." : ""}`),
        chartBox(heatmapFigure(result), slug(`${acc}-heatmap`), "Rows: z-scored log2 values of each probe across the samples."),
        h("p", null, h("a", { href: tsv, download: `${acc}-de.tsv`, class: "btn btn-small" }, "Download the full table (TSV)")));
    } catch (err) {
      if (current !== control) return;
      if (isAbort(err)) {
        replace(slot, h("p", { class: "muted", role: "status" }, "Stopped following the comparison when the tab closed. Press Compare to see its result."));
      } else if (err?.status === 404 || err?.status === 405) {
        replace(slot, unavailable("The statistics service does not answer on this server yet."));
      } else {
        replace(slot, errorBox(err, run));
      }
    } finally {
      clearInterval(watch);
    }
  };
  const controls = h("div", { class: "chart-controls" },
    h("label", { for: "viz-de-group" }, "Group"), group, h("label", { for: "viz-de-vs" }, "vs"), vs,
    h("button", { type: "button", class: "btn btn-small", on: { click: run } }, "Compare"));
  run();
  return [heading, controls, slot];
}

export async function render(container, { record, lastSearch, api }) {
  const parts = [];
  if (record) {
    if (record.record_type === "dataset" || record.record_type === "series") parts.push(...await expressionCharts(record));
    parts.push(...await groupCharts(record, api));
  }
  parts.push(...(lastSearch ? searchCharts(lastSearch)
    : [h("h3", null, "The search on screen"), h("p", { class: "muted" }, "Run a search to chart its organisms, experiment types, platforms, release years and sample sizes here.")]));
  replace(container, parts);
}
