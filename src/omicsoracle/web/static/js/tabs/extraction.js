// Text extraction from a record's own texts: organisms, quantities with units, sample
// counts, p-values and accessions, highlighted in place; sample characteristics tallied.
// Pattern-based for now; server-side entity extraction replaces the patterns later.

import { fmt, h, plural, recordHref, replace } from "../dom.js";
import { groupsOf } from "./common.js";

export const KINDS = {
  organism: "Organism",
  quantity: "Quantity with unit",
  count: "Sample count",
  pvalue: "p-value / FDR",
  accession: "Accession",
};

const COMMON_NAMES = {
  "Homo sapiens": ["human", "humans"],
  "Mus musculus": ["mouse", "mice", "murine"],
  "Rattus norvegicus": ["rat", "rats"],
  "Danio rerio": ["zebrafish"],
  "Drosophila melanogaster": ["Drosophila", "fruit fly", "fruit flies"],
  "Caenorhabditis elegans": ["C. elegans", "nematode"],
  "Saccharomyces cerevisiae": ["yeast", "budding yeast"],
  "Arabidopsis thaliana": ["Arabidopsis"],
  "Gallus gallus": ["chicken", "chick"],
  "Sus scrofa": ["pig", "pigs", "porcine"],
  "Bos taurus": ["cattle", "bovine", "cow"],
  "Macaca mulatta": ["rhesus macaque", "rhesus monkey"],
};
const UNITS = [
  "mg/kg", "mg/ml", "µg/ml", "μg/ml", "ug/ml", "ng/ml", "U/ml", "µM", "μM", "uM", "nM", "pM", "mM",
  "µg", "μg", "ug", "ng", "mg", "kg", "g", "µl", "μl", "ul", "ml", "mL", "hours", "hour", "hrs", "hr", "h",
  "minutes", "minute", "mins", "min", "seconds", "sec", "days", "day", "d", "weeks", "week", "wks", "wk",
  "months", "month", "years", "year", "yrs", "yr", "°C", "cGy", "Gy", "%", "bp", "kb", "Mb", "Gb", "rpm",
  "IU", "mmHg", "x",
];
const COUNT_NOUNS = "samples?|patients?|subjects?|individuals?|donors?|mice|rats?|animals?|tumou?rs?|biopsies|biopsy|replicates?|cell lines?|specimens?|cases?|controls?|embryos?|participants?|volunteers?|pools?|libraries|cells";
const NUMBER_WORDS = "two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty";
const esc = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
const NUM = String.raw`\d+(?:[.,]\d+)?`;
const PATTERNS = {
  pvalue: new RegExp(String.raw`(?<![\w.])(?:p|P|FDR|q|adj\.?\s?p|adjusted p)(?:[\s-]?values?)?\s*[<>=≤≥]\s*\d*\.?\d+(?:\s?[x×]\s?10\^?[-−]?\d+|[eE][-−]?\d+)?`, "g"),
  count: new RegExp(String.raw`(?<![\w.,])(?:[nN]\s?=\s?\d+|(?:\d{1,3}(?:,\d{3})+|\d+|${NUMBER_WORDS})\s+(?:(?:biological|technical|independent|healthy|normal|primary|human|adult)\s+)?(?:${COUNT_NOUNS}))(?![\w])`, "gi"),
  quantity: new RegExp(String.raw`(?<![\w.])${NUM}(?:\s?[-–]\s?${NUM})?\s?(?:${UNITS.map(esc).join("|")})(?![\w/])`, "g"),
  accession: /\b(?:GSE|GSM|GPL|GDS)\d+\b|\bPMID:?\s?\d{1,9}\b/g,
};

/** Non-overlapping entity matches [{start, end, kind, text}] in `text` (JS string indices). */
export function extract(text, organismRe) {
  const found = [];
  const scan = (kind, re) => {
    if (!re) return;
    re.lastIndex = 0;
    for (const m of text.matchAll(re)) {
      if (m[0]) found.push({ start: m.index, end: m.index + m[0].length, kind, text: m[0] });
    }
  };
  scan("organism", organismRe);
  for (const [kind, re] of Object.entries(PATTERNS)) scan(kind, re);
  found.sort((a, b) => a.start - b.start || (b.end - b.start) - (a.end - a.start));
  const out = [];
  for (const m of found) if (!out.length || m.start >= out[out.length - 1].end) out.push(m);
  return out;
}

/** One regex for the record's organisms: scientific names, "H. sapiens", common names. */
export function organismPattern(names) {
  const terms = new Set();
  for (const name of names) {
    if (!name) continue;
    terms.add(name);
    const [genus, species] = name.split(/\s+/);
    if (genus && species) terms.add(`${genus[0]}. ${species}`);
    for (const common of COMMON_NAMES[name] ?? []) terms.add(common);
  }
  if (!terms.size) return null;
  const alts = [...terms].sort((a, b) => b.length - a.length).map(esc).join("|");
  return new RegExp(`(?<![\\w])(?:${alts})(?![\\w])`, "gi");
}

function organismOf(text, names) {
  const lower = text.toLowerCase();
  for (const name of names) {
    if (name.toLowerCase() === lower) return name;
    const [g, s] = name.split(/\s+/);
    if (g && s && `${g[0]}. ${s}`.toLowerCase() === lower) return name;
    if ((COMMON_NAMES[name] ?? []).some((c) => c.toLowerCase() === lower)) return name;
  }
  return text;
}

/** The text with its matches as <mark>s (accessions as links), built through the DOM. */
export function markup(text, matches) {
  const out = [];
  let at = 0;
  for (const m of matches) {
    if (m.start > at) out.push(text.slice(at, m.start));
    const piece = text.slice(m.start, m.end);
    const id = m.kind === "accession" ? piece.replace(/^PMID:?\s?/, "") : null;
    out.push(h("mark", { class: `ent ent-${m.kind}`, title: KINDS[m.kind] },
      id ? h("a", { href: recordHref(id) }, piece) : piece));
    at = m.end;
  }
  if (at < text.length) out.push(text.slice(at));
  return out;
}

function texts(record) {
  return [
    ["Title", record.title],
    ["Summary", record.summary],
    ["Description", record.description],
    ["Overall design", record.overall_design],
  ].filter(([, t]) => typeof t === "string" && t.trim());
}

export async function render(container, { record, api }) {
  const names = [...new Set([...(record.organisms ?? [])])];
  const groups = await groupsOf(record, api);
  for (const s of groups.list ?? []) for (const o of s.organisms ?? []) if (!names.includes(o)) names.push(o);
  const organismRe = organismPattern(names);
  const entities = new Map(); // kind|normalized -> {kind, text, count, where:Set}
  const note = (m, where, times = 1) => {
    const norm = m.kind === "organism" ? organismOf(m.text, names) : m.text.replace(/\s+/g, " ");
    const key = `${m.kind}|${norm.toLowerCase()}`;
    const e = entities.get(key) ?? { kind: m.kind, text: norm, count: 0, where: new Set() };
    e.count += times;
    e.where.add(where);
    entities.set(key, e);
  };

  const passages = texts(record).map(([label, text]) => {
    const matches = extract(text, organismRe);
    for (const m of matches) note(m, label);
    return h("div", { class: "passage" }, h("h4", null, label), h("p", null, markup(text, matches)));
  });
  for (const [key, values] of groups.keys) {
    for (const [value, n] of values) {
      for (const m of extract(`${key}: ${value}`, organismRe)) note(m, groups.source === "subsets" ? "subsets" : "sample characteristics", n);
    }
  }

  const legend = h("div", { class: "legend", role: "group", "aria-label": "Highlight" },
    Object.entries(KINDS).map(([kind, label]) => {
      const n = [...entities.values()].filter((e) => e.kind === kind).reduce((a, e) => a + e.count, 0);
      const box = h("input", { type: "checkbox", checked: true,
        on: { change: (e) => container.classList.toggle(`hide-${kind}`, !e.target.checked) } });
      return h("label", null, box, h("span", { class: `swatch ent-${kind}`, "aria-hidden": "true" }), `${label} (${fmt(n)})`);
    }));

  replace(container,
    h("p", { class: "muted" }, "Entities found by pattern in this record's own texts",
      groups.source === "characteristics" ? " and its samples' characteristics." : " and its subsets."),
    legend,
    passages.length ? passages : h("p", { class: "muted" }, "This record has no text to scan."),
    entityTable(entities),
    tallyTable(groups));
}

function entityTable(entities) {
  const rows = [...entities.values()].sort((a, b) =>
    Object.keys(KINDS).indexOf(a.kind) - Object.keys(KINDS).indexOf(b.kind) || b.count - a.count);
  if (!rows.length) return [h("h3", null, "Entities"), h("p", { class: "muted" }, "No entities found.")];
  return [h("h3", null, `Entities (${rows.length})`),
    h("div", { class: "table-wrap" }, h("table", { class: "entities" },
      h("thead", null, h("tr", null, ["Kind", "Text", "Occurrences", "Found in"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", null, rows.map((e) => h("tr", null,
        h("td", null, h("span", { class: `swatch ent-${e.kind}`, "aria-hidden": "true" }), " ", KINDS[e.kind]),
        h("td", null, e.text), h("td", { class: "num" }, fmt(e.count)), h("td", null, [...e.where].join(", ")))))))];
}

function tallyTable({ keys, samples, source }) {
  const title = source === "subsets" ? "Subsets by type" : "Sample characteristics";
  if (!keys.size) {
    return [h("h3", null, title), h("p", { class: "muted" }, source === "subsets"
      ? "This dataset has no subsets."
      : "No sample characteristics are stored for this series (only series-level metadata was ingested).")];
  }
  const rows = [...keys].map(([key, values]) => {
    const sorted = [...values].sort((a, b) => b[1] - a[1]);
    const shown = sorted.slice(0, 12).map(([v, n]) => h("span", { class: "kv" }, v || "(empty)", h("span", { class: "k" }, ` (${fmt(n)})`)));
    return h("tr", null, h("th", { scope: "row" }, key), h("td", { class: "num" }, fmt(values.size)),
      h("td", null, shown, sorted.length > 12 ? h("span", { class: "muted" }, `… ${plural(sorted.length - 12, "more value")}`) : null));
  });
  return [h("h3", null, title),
    samples !== null ? h("p", { class: "muted" }, `${plural(samples, "sample")} tallied.`) : null,
    h("div", { class: "table-wrap" }, h("table", { class: "tally" },
      h("thead", null, h("tr", null, [source === "subsets" ? "Type" : "Characteristic", "Distinct values", "Values (samples)"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", null, rows)))];
}
