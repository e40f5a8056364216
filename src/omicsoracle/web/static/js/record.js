// Record pages (/?id=ACC): series, samples, platforms, datasets and publications.

import { api, isAbort, normalizeId, url } from "./api.js";
import { errorBox, loadingBox } from "./errors.js";
import {
  extLink, fmt, geoLink, h, plural, recordLink, replace,
} from "./dom.js";
import { card } from "./search.js";
import { details, fields, moreFields, paragraphs, section, table } from "./fields.js";

const KIND = { series: "Series", sample: "Sample", platform: "Platform", dataset: "Dataset", publication: "Publication" };
// The analysis tabs: each module is fetched by import() the first time its tab opens.
const TABS = [
  { name: "extraction", label: "Text extraction", load: () => import("./tabs/extraction.js") },
  { name: "visualization", label: "Visualization", load: () => import("./tabs/visualization.js") },
  { name: "statistics", label: "Statistical analysis", load: () => import("./tabs/statistics.js") },
];
const SAMPLES_PAGE = 200;

export class RecordView {
  constructor(root, { lastSearch, setTab }) {
    Object.assign(this, { root, lastSearch, setTab });
    this.controller = null;
  }

  hide() {
    this.root.hidden = true;
    this.controller?.abort();
  }

  async show(rawId, tab) {
    this.controller?.abort();
    this.controller = new AbortController();
    const id = normalizeId(rawId);
    this.root.hidden = false;
    this.root.setAttribute("aria-busy", "true");
    replace(this.root, loadingBox(`Loading ${id}…`));
    document.title = `${id} – OmicsOracle`;
    let record;
    try {
      record = await api.record(id, { signal: this.controller.signal });
    } catch (err) {
      if (isAbort(err)) return;
      this.root.setAttribute("aria-busy", "false");
      replace(this.root, errorBox(err, () => this.show(rawId, tab), { heading: "h1" }),
        h("p", null, h("a", { href: "/" }, "Back to search")));
      this.root.querySelector(".state-title")?.focus();
      return;
    }
    this.root.setAttribute("aria-busy", "false");
    this.render(record, tab);
  }

  render(record, tab) {
    const id = record.accession ?? record.pmid;
    const kind = record.record_type;
    document.title = `${id}: ${record.title ?? ""} – OmicsOracle`;
    const title = h("h1", { class: "record-title", tabindex: "-1" }, record.title || id);
    const body = (BODIES[kind] ?? genericBody)(record);
    const last = this.lastSearch();
    const back = last ? h("p", { class: "crumbs" }, h("a", { href: url("/", last.params) },
      last.query ? `← Results for “${last.query}”` : "← Back to results")) : null;
    const header = h("header", { class: "record-header" }, back,
      h("p", { class: "record-kind" }, h("span", { class: "badge" }, KIND[kind] ?? kind), " ", id, " · ",
        kind === "publication" ? extLink(`https://pubmed.ncbi.nlm.nih.gov/${encodeURIComponent(id)}/`, "View on PubMed") : geoLink(id)),
      title);
    const withTabs = kind === "series" || kind === "dataset";
    replace(this.root, h("article", { class: "record", dataset: { type: kind ?? "" } },
      header, body.top, withTabs ? this.tabs(record, body.main, tab) : body.main));
    title.focus({ preventScroll: true });
  }

  tabs(record, overview, initial) {
    const defs = [{ name: "overview", label: "Overview" }, ...TABS];
    const buttons = [];
    const panels = [];
    const opened = new Set();
    const select = (index, { focus = false, user = false } = {}) => {
      defs.forEach((def, i) => {
        const on = i === index;
        buttons[i].setAttribute("aria-selected", String(on));
        buttons[i].tabIndex = on ? 0 : -1;
        panels[i].hidden = !on;
      });
      if (focus) buttons[index].focus();
      const def = defs[index];
      if (user) this.setTab(def.name === "overview" ? null : def.name);
      if (def.load && !opened.has(def.name)) {
        opened.add(def.name);
        this.openTab(def, panels[index], record);
      }
    };
    defs.forEach((def, i) => {
      buttons.push(h("button", {
        type: "button", role: "tab", id: `tab-${def.name}`, "aria-controls": `panel-${def.name}`,
        "aria-selected": "false", tabindex: "-1", dataset: { tab: def.name },
        on: {
          click: () => select(i, { user: true }),
          keydown: (e) => {
            const n = defs.length;
            const to = { ArrowRight: (i + 1) % n, ArrowLeft: (i - 1 + n) % n, Home: 0, End: n - 1 }[e.key];
            if (to !== undefined) {
              e.preventDefault();
              buttons[to].focus();
            }
          },
        },
      }, def.label));
      panels.push(h("div", {
        role: "tabpanel", id: `panel-${def.name}`, "aria-labelledby": `tab-${def.name}`,
        class: "tab-panel", tabindex: "0", hidden: true,
      }, def.name === "overview" ? overview : null));
    });
    const start = Math.max(0, defs.findIndex((d) => d.name === initial));
    const wrap = h("div", { class: "tabs" },
      h("div", { role: "tablist", "aria-label": "Dataset views", class: "tablist" }, buttons), panels);
    select(start);
    return wrap;
  }

  async openTab(def, panel, record) {
    panel.setAttribute("aria-busy", "true");
    replace(panel, loadingBox(`Loading ${def.label.toLowerCase()}…`));
    try {
      const mod = await def.load();
      const out = h("div", { class: "tab-content" });
      await mod.render(out, { record, lastSearch: this.lastSearch(), api });
      replace(panel, out);
    } catch (err) {
      const retry = () => this.openTab(def, panel, record);
      replace(panel, errorBox(err?.status === undefined ? { title: "This view failed to load", detail: String(err?.message ?? err) } : err, retry));
    } finally {
      panel.setAttribute("aria-busy", "false");
    }
  }
}

function organisms(list) {
  return (list ?? []).map((o) => h("i", null, o));
}

function pmidLinks(pmids) {
  return (pmids ?? []).map((p) => h("span", { class: "pub" }, recordLink(p, `PMID ${p}`), " ", extLink(`https://pubmed.ncbi.nlm.nih.gov/${encodeURIComponent(p)}/`, "PubMed ↗")));
}

function links(ids) {
  return (ids ?? []).map((id) => recordLink(id));
}

function seriesBody(r) {
  const top = fields([
    ["Organisms", organisms(r.organisms)],
    ["Experiment type", r.types],
    ["Platforms", links(r.platforms)],
    ["Samples", typeof r.n_samples === "number" ? fmt(r.n_samples) : null],
    ["Released", r.release_date],
    ["Last updated", r.last_update_date],
    ["Contact", r.contact],
    ["Publications", pmidLinks(r.pubmed_ids)],
    ["Datasets", links(r.datasets)],
    ["SRA", (r.sra ?? []).map((s) => extLink(`https://www.ncbi.nlm.nih.gov/sra?term=${encodeURIComponent(s)}`, s))],
    ["Supplementary files", r.supplementary_types],
  ]);
  const similar = section("Similar datasets", loadingBox("Finding similar series…"));
  similar.classList.add("similar");
  loadSimilar(r.accession, similar);
  const main = [
    r.summary && section("Summary", paragraphs(r.summary)),
    r.overall_design && section("Overall design", paragraphs(r.overall_design)),
    samplesSection(r),
    publicationsSection(r.publications),
    r.datasets_detail?.length > 0 && section("Datasets", h("ul", { class: "plain" },
      r.datasets_detail.map((d) => h("li", null, recordLink(d.accession), " ", d.title ?? "")))),
    similar,
    moreFields(r.extra),
  ];
  return { top, main };
}

function samplesSection(r) {
  const page = r.samples_page;
  if (!page || !page.total) return null;
  const tbody = h("tbody");
  const addRows = (items) => tbody.append(...items.map((s) => h("tr", null,
    h("td", null, recordLink(s.accession)),
    h("td", null, s.title ?? ""),
    h("td", null, (s.characteristics ?? []).map(([k, v]) => h("span", { class: "kv" }, h("span", { class: "k" }, `${k}: `), v))))));
  addRows(page.items ?? []);
  let loaded = (page.offset ?? 0) + (page.items?.length ?? 0);
  const status = h("div", { class: "more" });
  const refresh = () => {
    replace(status, h("span", { class: "muted" }, `Showing ${fmt(loaded)} of ${plural(page.total, "sample")}`),
      loaded < page.total && h("button", { type: "button", class: "btn", on: { click: more } }, "Show more samples"));
  };
  const more = async () => {
    replace(status, loadingBox("Loading samples…"));
    try {
      const next = await api.record(r.accession, { samplesOffset: loaded, samplesLimit: SAMPLES_PAGE });
      const items = next.samples_page?.items ?? [];
      addRows(items);
      loaded += items.length;
      if (!items.length) loaded = page.total;
      refresh();
    } catch (err) {
      replace(status, errorBox(err, more));
    }
  };
  refresh();
  const tbl = table(["Sample", "Title", "Characteristics"], tbody);
  const sec = section(`Samples (${fmt(page.total)})`, tbl, status);
  sec.classList.add("samples");
  return sec;
}

function publicationsSection(pubs) {
  if (!pubs?.length) return null;
  const byPmid = new Map();
  for (const p of pubs) {
    const seen = byPmid.get(p.pmid);
    if (!seen) byPmid.set(p.pmid, { ...p, sources: [p.source] });
    else {
      seen.sources.push(p.source);
      seen.confidence = Math.max(seen.confidence ?? 0, p.confidence ?? 0);
      for (const k of ["title", "journal", "year"]) seen[k] ??= p[k];
    }
  }
  const items = [...byPmid.values()].map((p) => h("li", { class: "pub-item" },
    h("p", null, recordLink(p.pmid, p.title || `PMID ${p.pmid}`)),
    h("p", { class: "muted" }, [p.journal, p.year].filter(Boolean).join(", "),
      p.journal || p.year ? " · " : "", `PMID ${p.pmid} · ${p.relation ?? "linked"}`,
      ` · via ${[...new Set(p.sources)].join(", ")}`,
      typeof p.confidence === "number" && p.confidence < 1 ? ` · confidence ${p.confidence.toFixed(2)}` : "",
      " · ", extLink(`https://pubmed.ncbi.nlm.nih.gov/${encodeURIComponent(p.pmid)}/`, "PubMed ↗"))));
  const sec = section(`Publications (${byPmid.size})`, h("ul", { class: "plain" }, items));
  sec.classList.add("publications");
  return sec;
}

async function loadSimilar(acc, sec) {
  const body = sec.querySelector(".section-body");
  try {
    const resp = await api.similar(acc);
    const hits = (resp.results ?? []).filter((x) => x.accession !== acc);
    if (!hits.length) {
      sec.remove();
      return;
    }
    replace(body, h("div", { class: "results compact" }, hits.map((hit) => card(hit))));
  } catch {
    sec.remove(); // optional: a missing or failing endpoint leaves no trace
  }
}

function sampleBody(r) {
  const top = fields([
    ["Series", links(r.series_links?.length ? r.series_links : r.series)],
    ["Platform", r.platform && recordLink(r.platform)],
    ["Organisms", organisms(r.organisms)],
    ["Source", r.source_name],
    ["Molecule", r.molecule],
    ["Sample type", r.sample_type],
    ["Released", r.release_date],
    ["Last updated", r.last_update_date],
    ["Data rows", r.n_rows > 0 ? fmt(r.n_rows) : null],
  ]);
  const chars = r.characteristics ?? [];
  const main = [
    chars.length > 0 && section("Characteristics", table(["Characteristic", "Value"],
      h("tbody", null, chars.map(([k, v]) => h("tr", null, h("td", null, k), h("td", null, v)))))),
    r.description && section("Description", paragraphs(r.description)),
    dataTable(r.table),
    moreFields(r.extra),
  ];
  return { top, main };
}

function platformBody(r) {
  const top = fields([
    ["Technology", r.technology],
    ["Distribution", r.distribution],
    ["Organisms", organisms(r.organisms)],
    ["Manufacturer", r.manufacturer],
    ["Released", r.release_date],
    ["Last updated", r.last_update_date],
    ["Rows", r.n_rows > 0 ? fmt(r.n_rows) : null],
  ]);
  const main = [
    r.description && section("Description", paragraphs(r.description)),
    r.columns?.length > 0 && section("Columns", h("p", null, r.columns.join(", "))),
    dataTable(r.table),
    moreFields(r.extra),
  ];
  return { top, main };
}

function datasetBody(r) {
  const top = fields([
    ["Reference series", r.reference_series && recordLink(r.reference_series)],
    ["Platform", r.platform && recordLink(r.platform)],
    ["Organisms", organisms(r.organisms)],
    ["Dataset type", r.dataset_type],
    ["Value type", r.value_type],
    ["Samples", typeof r.n_samples === "number" ? fmt(r.n_samples) : null],
    ["Features", typeof r.n_features === "number" ? fmt(r.n_features) : null],
    ["Updated", r.update_date],
    ["Publications", pmidLinks(r.pubmed_ids)],
  ]);
  const subsets = r.subsets_detail ?? r.subsets ?? [];
  const main = [
    r.description && section("Description", paragraphs(r.description)),
    subsets.length > 0 && section(`Subsets (${subsets.length})`, table(["Type", "Subset", "Samples"],
      h("tbody", null, subsets.map((s) => h("tr", null,
        h("td", null, s.type ?? ""), h("td", null, s.description ?? ""),
        h("td", null, h("details", { class: "inline" },
          h("summary", null, plural((s.samples ?? []).length, "sample")),
          h("span", { class: "id-list" }, links(s.samples))))))))),
    dataTable(r.table),
    moreFields(r.extra),
  ];
  return { top, main };
}

function publicationBody(r) {
  const doi = typeof r.doi === "string" && r.doi ? extLink(`https://doi.org/${r.doi.split("/").map(encodeURIComponent).join("/")}`, r.doi) : null;
  const top = fields([
    ["Journal", r.journal],
    ["Published", r.pub_date ?? r.year],
    ["DOI", doi],
    ["Language", r.language],
    ["Publication type", r.publication_types],
    ["Authors", authorList(r.authors)],
  ]);
  const links_ = r.series_links ?? [];
  const main = [
    r.abstract && section("Abstract", paragraphs(r.abstract)),
    links_.length > 0 && section(`Linked series (${links_.length})`, table(["Series", "Relation", "Source", "Confidence"],
      h("tbody", null, links_.map((l) => h("tr", null,
        h("td", null, recordLink(l.series)), h("td", null, l.relation ?? ""),
        h("td", null, l.source ?? ""), h("td", null, typeof l.confidence === "number" ? l.confidence.toFixed(2) : "")))))),
    r.geo_accessions?.length > 0 && section("GEO accessions mentioned", h("p", { class: "id-list" }, links(r.geo_accessions))),
    r.mesh?.length > 0 && section("MeSH terms", h("ul", { class: "tags" }, r.mesh.map((m) => h("li", { class: m.major ? "major" : null },
      m.descriptor, m.qualifiers?.length ? ` / ${m.qualifiers.join(", ")}` : "", m.major ? h("span", { class: "visually-hidden" }, " (major topic)") : null)))),
    r.keywords?.length > 0 && section("Keywords", h("ul", { class: "tags" }, r.keywords.map((k) => h("li", null, k)))),
    moreFields(r.extra),
  ];
  return { top, main };
}

function authorList(authors) {
  const names = (authors ?? []).map((a) => a.collective || [a.last_name, a.initials || a.fore_name].filter(Boolean).join(" ")).filter(Boolean);
  if (names.length <= 12) return names.join(", ") || null;
  return details(`${names.slice(0, 10).join(", ")} … (${names.length} authors)`, names.join(", "));
}

function dataTable(t) {
  if (!t) return null;
  return section("Data table", h("p", null, `${fmt(t.rows)} rows in ${plural(t.chunks, "chunk")}; columns: `,
    (t.columns ?? []).join(", ")));
}

function genericBody(r) {
  return { top: null, main: moreFields(r) };
}

const BODIES = { series: seriesBody, sample: sampleBody, platform: platformBody, dataset: datasetBody, publication: publicationBody };
