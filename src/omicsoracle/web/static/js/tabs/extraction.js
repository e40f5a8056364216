// Text extraction: the server's entities (GET /api/v1/entities/{id}) highlighted in the
// record's own texts by their spans, grouped by type, and the samples' normalised
// characteristics tallied. Record text only ever becomes DOM text nodes (never HTML).

import { getJSON } from "../api.js";
import { fmt, h, plural, replace } from "../dom.js";

export const KINDS = {
  organism: "Organism",
  tissue: "Tissue",
  cell_type: "Cell type",
  cell_line: "Cell line",
  disease: "Disease",
  gene: "Gene",
  assay: "Assay",
  treatment: "Treatment",
  time_point: "Time point",
  sample_count: "Sample count",
  statistic: "Statistic",
};

const FIELDS = {
  title: "Title",
  summary: "Summary",
  abstract: "Abstract",
  description: "Description",
  overall_design: "Overall design",
  source_name: "Source",
};

/**
 * Non-overlapping spans of one field, first and longest first. Spans are UTF-16 indices
 * only when the text is BMP; Python counts code points, so they are converted here.
 */
export function spansOf(text, entities) {
  const chars = Array.from(text); // code points, like the server's str indices
  const toUnit = [];
  let unit = 0;
  for (const c of chars) { toUnit.push(unit); unit += c.length; }
  toUnit.push(unit);
  const sorted = entities
    .filter((e) => e.start >= 0 && e.end <= chars.length && e.end > e.start)
    .map((e) => ({ ...e, s: toUnit[e.start], t: toUnit[e.end] }))
    .sort((a, b) => a.s - b.s || (b.t - b.s) - (a.t - a.s));
  const out = [];
  for (const e of sorted) if (!out.length || e.s >= out[out.length - 1].t) out.push(e);
  return out;
}

/** The text with its entities as <mark>s, built from text nodes. */
export function markup(text, entities) {
  const out = [];
  let at = 0;
  for (const e of spansOf(text, entities)) {
    if (e.s > at) out.push(text.slice(at, e.s));
    const title = `${KINDS[e.type] ?? e.type}: ${e.normalized}${e.context ? ` (${e.context})` : ""}`;
    out.push(h("mark", { class: `ent ent-${e.type}`, title }, text.slice(e.s, e.t)));
    at = e.t;
  }
  if (at < text.length) out.push(text.slice(at));
  return out;
}

export async function render(container, { record }) {
  const id = record.accession ?? record.pmid;
  const data = await getJSON(`/api/v1/entities/${encodeURIComponent(id)}`);
  const byField = new Map();
  for (const e of data.entities) {
    if (!byField.has(e.field)) byField.set(e.field, []);
    byField.get(e.field).push(e);
  }
  const passages = Object.entries(FIELDS)
    .filter(([field]) => typeof record[field] === "string" && record[field].trim())
    .map(([field, label]) => h("div", { class: "passage" }, h("h4", null, label),
      h("p", null, markup(record[field], byField.get(field) ?? []))));

  const counts = new Map();
  for (const e of data.entities) counts.set(e.type, (counts.get(e.type) ?? 0) + 1);
  const legend = h("div", { class: "legend", role: "group", "aria-label": "Highlight" },
    Object.entries(KINDS).filter(([kind]) => counts.has(kind)).map(([kind, label]) => {
      const box = h("input", { type: "checkbox", checked: true,
        on: { change: (ev) => container.classList.toggle(`hide-${kind}`, !ev.target.checked) } });
      return h("label", null, box, h("span", { class: `swatch ent-${kind}`, "aria-hidden": "true" }),
        `${label} (${fmt(counts.get(kind))})`);
    }));

  replace(container,
    h("p", { class: "muted" }, "Entities extracted from this record's texts, with their ontology or vocabulary source."),
    legend,
    passages.length ? passages : h("p", { class: "muted" }, "This record has no text to scan."),
    groupTable(data.entities),
    tallyTable(data.characteristics));
}

function groupTable(entities) {
  const groups = new Map(); // type -> normalized -> {count, texts:Set, source}
  for (const e of entities) {
    if (!groups.has(e.type)) groups.set(e.type, new Map());
    const g = groups.get(e.type);
    const item = g.get(e.normalized) ?? { count: 0, texts: new Set(), source: e.source, fields: new Set() };
    item.count += 1;
    item.texts.add(e.text);
    item.fields.add(FIELDS[e.field] ?? e.field);
    g.set(e.normalized, item);
  }
  if (!groups.size) return [h("h3", null, "Entities"), h("p", { class: "muted" }, "No entities found.")];
  const order = Object.keys(KINDS);
  const sections = [...groups].sort((a, b) => order.indexOf(a[0]) - order.indexOf(b[0])).map(([type, values]) => {
    const rows = [...values].sort((a, b) => b[1].count - a[1].count).map(([norm, v]) => h("tr", null,
      h("td", null, norm), h("td", null, [...v.texts].join(", ")), h("td", { class: "num" }, fmt(v.count)),
      h("td", null, [...v.fields].join(", ")), h("td", { class: "muted" }, v.source)));
    return h("section", { class: "entity-group", dataset: { type } },
      h("h4", null, h("span", { class: `swatch ent-${type}`, "aria-hidden": "true" }), ` ${KINDS[type] ?? type} (${values.size})`),
      h("div", { class: "table-wrap" }, h("table", { class: "entities" },
        h("thead", null, h("tr", null, ["Normalized", "As written", "Mentions", "Found in", "Source"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", null, rows))));
  });
  return [h("h3", null, `Entities by type (${plural(entities.length, "mention")})`), sections];
}

function tallyTable(characteristics) {
  const keys = new Map();
  const samples = new Set();
  for (const c of characteristics) {
    samples.add(c.sample);
    if (!keys.has(c.key)) keys.set(c.key, new Map());
    const values = keys.get(c.key);
    values.set(c.value, (values.get(c.value) ?? 0) + 1);
  }
  if (!keys.size) {
    return [h("h3", null, "Sample characteristics"),
      h("p", { class: "muted" }, "No sample characteristics are stored for this record.")];
  }
  const rows = [...keys].map(([key, values]) => {
    const sorted = [...values].sort((a, b) => b[1] - a[1]);
    const shown = sorted.slice(0, 12).map(([v, n]) => h("span", { class: "kv" }, v, h("span", { class: "k" }, ` (${fmt(n)})`)));
    return h("tr", null, h("th", { scope: "row" }, key), h("td", { class: "num" }, fmt(values.size)),
      h("td", null, shown, sorted.length > 12 ? h("span", { class: "muted" }, `… ${plural(sorted.length - 12, "more value")}`) : null));
  });
  return [h("h3", null, "Sample characteristics (normalised)"),
    h("p", { class: "muted" }, `${plural(samples.size, "sample")} tallied.`),
    h("div", { class: "table-wrap" }, h("table", { class: "tally" },
      h("thead", null, h("tr", null, ["Characteristic", "Distinct values", "Values (samples)"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", null, rows)))];
}
