// The search view: results as cards, facets, chips, progressive loading by cursor.

import { api, isAbort, SEARCH_PAGE, url } from "./api.js";
import { errorBox } from "./errors.js";
import { LIST_KEYS, facetPatch, facetsPanel, filterChips, isFiltered } from "./facets.js";
import { fmt, h, highlighted, plural, recordHref, replace } from "./dom.js";

const NUMBER_KEYS = ["min_samples", "max_samples", "year_from", "year_to"];
const SORTS = { relevance: "Relevance", date: "Newest first", samples: "Most samples" };
const EXPORTS = { csv: "CSV", tsv: "TSV", json: "JSON", bibtex: "BibTeX", ris: "RIS" };
const EXAMPLES = ["neuroblastoma", "breast cancer RNA-seq", "mouse liver since 2012", "GSE2034"];
// Cards built per animation frame: the build stops at whichever limit comes first, so a
// frame's script stays far below the 50 ms long-task threshold even on a slow machine.
const FRAME_BUDGET_MS = 4;
const FRAME_MAX_CARDS = 12;

/** The search state from a URL's query string. */
export function parseState(params) {
  const state = { q: (params.get("q") ?? "").trim(), sort: "relevance" };
  if (params.get("sort") in SORTS) state.sort = params.get("sort");
  // Words as typed: no synonyms or filters from words (see "Searching for" below).
  state.literal = params.get("literal") === "true";
  for (const key of LIST_KEYS) state[key] = [...new Set(params.getAll(key).filter(Boolean))];
  for (const key of NUMBER_KEYS) {
    const v = params.get(key) ?? "";
    state[key] = /^\d{1,9}$/.test(v) ? v : "";
  }
  return state;
}

/** The API/URL parameters of a state (defaults left out, so URLs stay short). */
export function stateParams(state) {
  const params = { q: state.q };
  for (const key of LIST_KEYS) params[key] = state[key];
  for (const key of NUMBER_KEYS) params[key] = state[key];
  if (state.sort !== "relevance") params.sort = state.sort;
  if (state.literal) params.literal = "true";
  return params;
}

export function stateUrl(state) {
  return url("/", stateParams(state));
}

export function isEmptyState(state) {
  return !state.q && !isFiltered(state);
}

export class SearchView {
  constructor(root, { navigate }) {
    this.root = root;
    this.navigate = navigate;
    this.state = null;
    this.key = null;
    this.response = null;
    this.loaded = [];
    this.queue = [];
    this.frame = 0;
    this.cursor = null;
    this.busy = false;
    this.controller = null;
    this.build();
    this.observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) this.loadMore();
    }, { rootMargin: "0px 0px 1200px 0px" });
    this.observer.observe(this.sentinel);
  }

  build() {
    this.landing = landing();
    this.heading = h("h1", { class: "visually-hidden" }, "Search results");
    this.summary = h("p", { class: "summary", role: "status", "aria-live": "polite" });
    this.sort = h("select", { id: "sort", on: { change: () => this.go({ sort: this.sort.value }) } },
      Object.entries(SORTS).map(([value, label]) => h("option", { value }, label)));
    this.exports = h("div", { class: "exports" });
    // Charts of the results on screen: their module (and plotly.js) load on first open.
    this.chartsToggle = h("button", { type: "button", class: "btn btn-small charts-toggle", "aria-expanded": "false",
      "aria-controls": "search-charts", on: { click: () => this.toggleCharts() } }, "Charts");
    this.charts = h("section", { id: "search-charts", class: "search-charts", "aria-label": "Charts of these results", hidden: true });
    this.chips = h("div", { class: "chips" });
    this.notices = h("div", { class: "notices" });
    // role=feed: the ARIA pattern for a list of articles that grows as the reader scrolls.
    this.list = h("div", { class: "results", role: "feed", "aria-label": "Results", "aria-busy": "false" });
    this.sentinel = h("div", { class: "sentinel", "aria-hidden": "true" });
    this.status = h("div", { class: "load-status", role: "status" });
    this.facets = h("aside", { class: "facets", "aria-label": "Filters" });
    this.layout = h("div", { class: "search-layout", hidden: true },
      this.facets,
      h("div", { class: "results-col" },
        this.heading,
        h("div", { class: "toolbar" }, this.summary,
          h("div", { class: "sort" }, this.chartsToggle, h("label", { for: "sort" }, "Sort"), this.sort)),
        this.chips, this.notices, this.charts, this.list, this.sentinel, this.status, this.exports));
    replace(this.root, this.landing, this.layout);
  }

  /** Show `state`; a state already on screen is kept as it is (back button). */
  show(state) {
    this.root.hidden = false;
    document.title = state.q ? `${state.q} – OmicsOracle` : "OmicsOracle";
    const key = stateUrl(state);
    if (key === this.key && this.response) return;
    this.state = state;
    this.key = key;
    if (isEmptyState(state)) {
      this.reset();
      this.response = null;
      this.landing.hidden = false;
      this.layout.hidden = true;
      return;
    }
    this.landing.hidden = true;
    this.layout.hidden = false;
    this.run();
  }

  hide() {
    this.root.hidden = true;
  }

  go(patch) {
    this.navigate(stateUrl({ ...this.state, ...patch }));
  }

  /** The search on screen, for the analysis tabs: the response plus every loaded result. */
  lastSearch() {
    if (!this.response) return null;
    return { ...this.response, results: this.loaded, params: stateParams(this.state) };
  }

  toggleCharts() {
    const open = this.charts.hidden;
    this.charts.hidden = !open;
    this.chartsToggle.setAttribute("aria-expanded", String(open));
    if (open) this.drawCharts();
  }

  /** Charts of the response on screen (its facets): no search request of their own. */
  async drawCharts() {
    if (!this.response) return;
    replace(this.charts, h("p", { class: "loading" }, "Loading charts…"));
    try {
      const { renderSearchCharts } = await import("./tabs/visualization.js");
      // A search started meanwhile draws its own charts when it answers.
      if (this.response) renderSearchCharts(this.charts, this.lastSearch());
    } catch (err) {
      replace(this.charts, errorBox({ title: "The charts failed to load", detail: String(err?.message ?? err) }, () => this.drawCharts()));
    }
  }

  reset() {
    this.controller?.abort();
    this.controller = new AbortController();
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.queue = [];
    this.loaded = [];
    this.shown = 0;
    this.cursor = null;
    this.busy = false;
    return this.controller.signal;
  }

  async run() {
    const signal = this.reset();
    const state = this.state;
    this.response = null;
    this.busy = true;
    this.list.setAttribute("aria-busy", "true");
    this.list.classList.add("stale");
    replace(this.status);
    this.summary.textContent = "Loading…";
    this.sort.value = state.sort;
    replace(this.chips, filterChips(state, (patch) => this.go(patch)));
    let resp;
    try {
      resp = await api.search({ ...stateParams(state), limit: SEARCH_PAGE }, { signal });
    } catch (err) {
      if (isAbort(err)) return;
      this.busy = false;
      this.list.setAttribute("aria-busy", "false");
      this.list.classList.remove("stale");
      replace(this.list);
      replace(this.notices);
      this.summary.textContent = "";
      replace(this.status, errorBox(err, () => this.run()));
      return;
    }
    this.response = resp;
    this.busy = false;
    this.list.classList.remove("stale");
    replace(this.list);
    this.summary.textContent = summaryText(resp, state);
    replace(this.notices, notices(resp, state));
    replace(this.facets, facetsPanel(resp.facets, state, (f, v) => this.go(facetPatch(this.state, f, v))));
    replace(this.exports, resp.total > 0 ? exportLinks(state) : null);
    if (!this.charts.hidden) this.drawCharts();
    this.cursor = resp.next_cursor;
    this.append(resp.results ?? []);
  }

  async loadMore() {
    // Not while a page is still being drawn: drained() re-arms the observer, so a
    // sentinel still in view once the page is complete loads the next one then.
    if (this.busy || this.queue.length || !this.cursor || !this.response || this.layout.hidden) return;
    this.busy = true;
    const signal = this.controller.signal;
    this.list.setAttribute("aria-busy", "true");
    replace(this.status, h("p", { class: "loading" }, "Loading more results…"));
    let resp;
    try {
      const params = { ...stateParams(this.state), limit: SEARCH_PAGE, cursor: this.cursor };
      resp = await api.search(params, { signal });
    } catch (err) {
      if (isAbort(err)) return;
      this.busy = false;
      this.list.setAttribute("aria-busy", "false");
      if (err.status === 410) {
        replace(this.status, h("div", { class: "notice notice-warn", role: "alert" },
          h("p", null, "The results changed since this search started."),
          // A fresh first page starts at the top, not at the bottom of the stale list.
          h("button", { type: "button", class: "btn", on: { click: () => { window.scrollTo(0, 0); this.run(); } } }, "Search again")));
      } else {
        replace(this.status, errorBox(err, () => this.loadMore()));
      }
      return;
    }
    this.busy = false;
    this.cursor = resp.next_cursor;
    this.append(resp.results ?? []);
  }

  /** Queue a page of results; its cards go into a chunk of their own. */
  append(results) {
    const start = this.loaded.length;
    this.loaded.push(...results);
    if (!results.length) {
      if (!this.frame) this.drained();
      return;
    }
    // Off-screen chunks skip style, layout and paint (content-visibility in app.css), so
    // the cost of a frame stays the same with 50 cards on the page or 5,000.
    const chunk = h("div", { class: "chunk" });
    this.list.appendChild(chunk);
    results.forEach((hit, i) => this.queue.push([chunk, hit, start + i + 1]));
    if (!this.frame) this.frame = requestAnimationFrame(() => this.flush());
  }

  /** Append one fragment per frame, built within the frame budget. */
  flush() {
    this.frame = 0;
    const started = performance.now();
    const frag = document.createDocumentFragment();
    const chunk = this.queue[0][0];
    const total = this.response.total;
    let n = 0;
    while (this.queue.length && this.queue[0][0] === chunk && n < FRAME_MAX_CARDS) {
      const [, hit, position] = this.queue.shift();
      frag.appendChild(card(hit, position, total));
      n += 1;
      if (performance.now() - started > FRAME_BUDGET_MS) break;
    }
    chunk.appendChild(frag);
    this.shown += n;
    if (this.queue.length) {
      this.frame = requestAnimationFrame(() => this.flush());
      return;
    }
    this.drained();
  }

  drained() {
    if (this.busy) return;
    this.list.setAttribute("aria-busy", "false");
    const shown = this.shown;
    const total = this.response.total;
    if (this.cursor) {
      replace(this.status, h("p", { class: "muted" }, `Showing ${fmt(shown)} of ${fmt(total)}`),
        h("button", { type: "button", class: "btn", on: { click: () => this.loadMore() } }, "Load more"));
      // Re-arm the observer: a sentinel still in view after this page must load the next.
      this.observer.unobserve(this.sentinel);
      this.observer.observe(this.sentinel);
    } else if (shown === 0) {
      replace(this.status, emptyState(this.state, (patch) => this.go(patch)));
    } else {
      replace(this.status, h("p", { class: "muted end" }, shown === 1 ? "The only result." : `All ${fmt(shown)} results shown.`));
    }
  }
}

function summaryText(resp, state) {
  const took = typeof resp.took_ms === "number" ? ` · ${Math.round(resp.took_ms)} ms` : "";
  const what = state.q ? ` for “${state.q}”` : "";
  return `${plural(resp.total, "series", "series")}${what}${took}`;
}

function notices(resp, state) {
  const out = [];
  if (resp.did_you_mean) {
    const href = stateUrl({ ...state, q: resp.did_you_mean });
    out.push(h("p", { class: ["notice", resp.total === 0 && "notice-strong"] },
      "Did you mean ", h("a", { href, class: "did-you-mean" }, resp.did_you_mean), "?"));
  }
  if (resp.relaxed) {
    out.push(h("p", { class: "notice notice-info relaxed" },
      "No series matched every word; showing series matching some of them."));
  }
  const searching = searchingFor(resp.understood, state);
  if (searching) out.push(searching);
  const understood = interpreted(resp.interpreted);
  if (understood.length) out.push(h("p", { class: "interpreted muted" }, "Understood: ", understood.join(" · ")));
  return out;
}

// "Searching for: NSCLC (non-small cell lung cancer) · Homo sapiens · samples ≥ 20",
// with a link to the other mode, so a surprising interpretation costs one click.
function searchingFor(understood, state) {
  if (!state.q || !understood || typeof understood !== "object") return null;
  const toggle = state.literal
    ? h("a", { href: stateUrl({ ...state, literal: false }), class: "understand-toggle" }, "understand the query")
    : h("a", { href: stateUrl({ ...state, literal: true }), class: "understand-toggle" }, "search the words as typed");
  const display = typeof understood.display === "string" ? understood.display : "";
  const changed = understood.literal || display !== state.q;
  if (!changed) return null;
  const label = understood.literal ? "Searching the words as typed" : "Searching for: ";
  return h("p", { class: "searching-for muted" },
    label, understood.literal ? "" : h("strong", null, display), " (", toggle, ")");
}

function interpreted(info) {
  if (!info || typeof info !== "object") return [];
  const parts = [];
  // Filters from words are on the "Searching for" line (resp.understood).
  for (const word of info.excluded ?? []) parts.push(`excluding “${word}”`);
  for (const [word, fixes] of Object.entries(info.corrections ?? {})) {
    parts.push(`“${word}” also as “${[].concat(fixes).join("”, “")}”`);
  }
  const ignored = [...(info.stopwords ?? []), ...(info.ignored ?? [])];
  if (ignored.length) parts.push(`ignored: ${ignored.join(", ")}`);
  return parts;
}

function exportLinks(state) {
  const params = stateParams(state);
  return [h("span", { class: "muted" }, "Export all results:"),
    Object.entries(EXPORTS).map(([format, label]) =>
      h("a", { href: api.exportUrl(params, format), download: true, class: "btn btn-small" }, label))];
}

function emptyState(state, go) {
  return h("div", { class: "empty" },
    h("h2", null, "No series found"),
    h("p", null, state.q ? `Nothing matched “${state.q}”${isFiltered(state) ? " with these filters" : ""}.` : "Nothing matched these filters."),
    isFiltered(state) && h("button", { type: "button", class: "btn", on: { click: () => go(clearedFilters()) } }, "Remove all filters"),
    h("p", { class: "muted" }, "Try fewer or broader words, or check the spelling."));
}

export function clearedFilters() {
  const patch = {};
  for (const key of LIST_KEYS) patch[key] = [];
  for (const key of NUMBER_KEYS) patch[key] = "";
  return patch;
}

function landing() {
  return h("div", { class: "landing" },
    h("h1", null, "Search NCBI GEO series"),
    h("p", { class: "lead" },
      "Find gene-expression and genomics datasets by disease, tissue, organism, platform or accession. ",
      "Plain language works: “mouse liver RNA-seq since 2012”."),
    h("p", { class: "examples" }, "Try: ",
      EXAMPLES.map((q) => h("a", { href: url("/", { q }), class: "example" }, q))));
}

/** One result card; kept to a handful of elements, since a thousand may be on screen. */
export function card(hit, position, total) {
  const acc = String(hit.accession ?? "");
  const year = typeof hit.release_date === "string" ? hit.release_date.slice(0, 4) : null;
  const facts = [
    ...(hit.organisms ?? []),
    ...(hit.types ?? []),
    typeof hit.n_samples === "number" ? plural(hit.n_samples, "sample") : null,
    year,
  ].filter(Boolean).join(" · ");
  const text = hit.snippet?.text;
  const pmids = (hit.pubmed_ids ?? []).slice(0, 5);
  const titleId = position ? `card-${position}` : null;
  return h("article", { class: "card", "aria-posinset": position, "aria-setsize": position ? total : null, "aria-labelledby": titleId },
    h("h2", { class: "card-title", id: titleId }, h("a", { href: recordHref(acc) }, hit.title || acc)),
    h("p", { class: "card-meta" }, h("span", { class: "badge" }, acc), " ", facts),
    text ? h("p", { class: "snippet" }, highlighted(text, hit.snippet.highlights)) : null,
    pmids.length ? h("p", { class: "card-pubs" }, "PubMed:", pmids.map((pmid) => [" ",
      h("a", { href: recordHref(pmid) }, pmid), " ",
      h("a", { href: `https://pubmed.ncbi.nlm.nih.gov/${encodeURIComponent(pmid)}/`, class: "ext",
        target: "_blank", rel: "noopener noreferrer", "aria-label": `PMID ${pmid} on PubMed` }, "↗")])) : null);
}
