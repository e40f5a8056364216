// Facet sidebar and filter chips: facet values map to search parameters and back.

import { fmt, h } from "./dom.js";

const FACETS = [
  { name: "organism", label: "Organism", list: "organism" },
  { name: "type", label: "Experiment type", list: "type" },
  { name: "platform", label: "Platform", list: "platform" },
  { name: "year", label: "Release year", range: ["year_from", "year_to"], parse: yearRange },
  { name: "samples", label: "Samples", range: ["min_samples", "max_samples"], parse: sampleRange },
  // From the enrichment step: entities extracted from the series, its samples, GDS and
  // articles, and its samples' characteristics ("tissue: liver").
  { name: "disease", label: "Disease", list: "disease" },
  { name: "tissue", label: "Tissue", list: "tissue" },
  { name: "cell_type", label: "Cell type", list: "cell_type" },
  { name: "cell_line", label: "Cell line", list: "cell_line" },
  { name: "gene", label: "Gene", list: "gene" },
  { name: "characteristic", label: "Sample characteristic", list: "characteristic" },
];
const LIST_LABELS = {
  organism: "Organism", type: "Type", platform: "Platform", raw_data: "Raw data",
  disease: "Disease", tissue: "Tissue", cell_type: "Cell type", cell_line: "Cell line",
  gene: "Gene", characteristic: "Characteristic",
};
/** Every list-valued filter the search URL carries (search.js reads and writes them). */
export const LIST_KEYS = Object.keys(LIST_LABELS);
const SHOWN = 8;
const NARROW = "(max-width: 700px)";

function yearRange(value) {
  return /^\d{4}$/.test(value) ? [value, value] : null;
}

/** A samples bucket ("1-5", "101-500", ">500") as [min, max] strings ("" = open). */
export function sampleRange(value) {
  let m = /^(\d+)\s*[-–]\s*(\d+)$/.exec(value);
  if (m) return [m[1], m[2]];
  m = /^>\s*(\d+)$/.exec(value);
  if (m) return [String(Number(m[1]) + 1), ""];
  m = /^(\d+)\+$/.exec(value) || /^>=\s*(\d+)$/.exec(value);
  if (m) return [m[1], ""];
  m = /^<\s*(\d+)$/.exec(value);
  if (m) return ["", String(Math.max(0, Number(m[1]) - 1))];
  m = /^(\d+)$/.exec(value);
  return m ? [m[1], m[1]] : null;
}

export function isFiltered(state) {
  return Boolean(Object.keys(LIST_LABELS).some((k) => state[k]?.length) ||
    state.min_samples || state.max_samples || state.year_from || state.year_to);
}

// List filters match case-insensitively on the server (tissue=Liver finds "liver"), so a
// value typed into the URL in another case is the same filter as the facet's value.
const fold = (v) => String(v).toLowerCase();
const has = (values, value) => values.some((v) => fold(v) === fold(value));

function isActive(state, facet, value) {
  if (facet.list) return has(state[facet.list], value);
  const range = facet.parse(value);
  return Boolean(range) && state[facet.range[0]] === range[0] && state[facet.range[1]] === range[1];
}

/** The state change of clicking `value` in `facetName`: toggles it on or off. */
export function facetPatch(state, facetName, value) {
  const facet = FACETS.find((f) => f.name === facetName);
  if (facet.list) {
    const values = state[facet.list];
    return { [facet.list]: has(values, value) ? values.filter((v) => fold(v) !== fold(value)) : [...values, value] };
  }
  const [lo, hi] = isActive(state, facet, value) ? ["", ""] : facet.parse(value);
  return { [facet.range[0]]: lo, [facet.range[1]]: hi };
}

export function facetsPanel(facets, state, onPick) {
  const narrow = window.matchMedia(NARROW).matches;
  const groups = FACETS.map((facet) => {
    const values = (facets?.[facet.name] ?? []).filter((v) => v && typeof v.value === "string");
    if (!values.length) return null;
    const item = (v) => facetItem(facet, v, state, onPick);
    const list = h("ul", { class: "facet-values" }, values.slice(0, SHOWN).map(item));
    const more = values.length > SHOWN ? h("button", {
      type: "button", class: "link-button",
      on: { click: (e) => {
        list.append(...values.slice(SHOWN).map(item));
        e.currentTarget.remove();
      } },
    }, `Show ${values.length - SHOWN} more`) : null;
    return h("details", { class: "facet", open: !narrow, dataset: { facet: facet.name } },
      h("summary", null, facet.label), list, more);
  });
  return groups.some(Boolean) ? [h("h2", { class: "facets-title" }, "Filter"), groups] : [];
}

function facetItem(facet, { value, count }, state, onPick) {
  const clickable = value !== "unknown" && (facet.list || facet.parse(value));
  const label = facet.name === "samples" ? value.replace("-", "–") : value;
  const body = [h("span", { class: "facet-label" }, label), h("span", { class: "count" }, fmt(count))];
  if (!clickable) return h("li", null, h("span", { class: "facet-value disabled" }, body));
  const active = isActive(state, facet, value);
  return h("li", null, h("button", {
    type: "button", class: "facet-value", "aria-pressed": String(active),
    dataset: { value },
    on: { click: () => onPick(facet.name, value) },
  }, body));
}

/** Removable chips for the active filters. */
export function filterChips(state, go) {
  const chips = [];
  for (const [key, label] of Object.entries(LIST_LABELS)) {
    for (const value of state[key] ?? []) {
      chips.push(chip(`${label}: ${value}`, { [key]: state[key].filter((v) => v !== value) }, go));
    }
  }
  const years = rangeLabel("Year", state.year_from, state.year_to);
  if (years) chips.push(chip(years, { year_from: "", year_to: "" }, go));
  const samples = rangeLabel("Samples", state.min_samples, state.max_samples);
  if (samples) chips.push(chip(samples, { min_samples: "", max_samples: "" }, go));
  if (chips.length > 1) {
    const all = { min_samples: "", max_samples: "", year_from: "", year_to: "" };
    for (const key of Object.keys(LIST_LABELS)) all[key] = [];
    chips.push(h("button", { type: "button", class: "link-button", on: { click: () => go(all) } }, "Clear all"));
  }
  return chips.length ? [h("span", { class: "visually-hidden" }, "Active filters:"), chips] : [];
}

function rangeLabel(label, lo, hi) {
  if (lo && hi) return lo === hi ? `${label}: ${lo}` : `${label}: ${lo}–${hi}`;
  if (lo) return `${label}: ≥ ${lo}`;
  if (hi) return `${label}: ≤ ${hi}`;
  return null;
}

function chip(text, patch, go) {
  return h("span", { class: "chip" }, h("span", null, text),
    h("button", { type: "button", class: "chip-remove", "aria-label": `Remove filter ${text}`,
      on: { click: () => go(patch) } }, "×"));
}
