// Building blocks of the record pages: field lists, sections, tables, linkified text.

import { extLink, h } from "./dom.js";

const URL_RE = /\b(?:https?|ftp):\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;

function empty(value) {
  return value === null || value === undefined || value === "" || value === false ||
    (Array.isArray(value) && value.filter((v) => v !== null && v !== "").length === 0);
}

/** A <dl> of [label, value] pairs; empty values are left out; lists are comma-joined. */
export function fields(entries) {
  const rows = entries.filter(([, value]) => !empty(value)).map(([label, value]) => h("div", { class: "field" },
    h("dt", null, label), h("dd", null, Array.isArray(value) ? joined(value) : value)));
  return rows.length ? h("dl", { class: "fields" }, rows) : null;
}

function joined(values) {
  const out = [];
  values.filter((v) => !empty(v)).forEach((v, i) => {
    if (i) out.push(", ");
    out.push(v);
  });
  return out;
}

export function section(title, ...children) {
  return h("section", { class: "record-section" }, h("h2", null, title),
    h("div", { class: "section-body" }, children));
}

/** Text with blank-line or newline breaks as paragraphs, URLs as links. */
export function paragraphs(text) {
  return String(text).split(/\n+/).filter((p) => p.trim()).map((p) => h("p", null, linkify(p)));
}

export function table(headers, tbody) {
  return h("div", { class: "table-wrap" }, h("table", null,
    h("thead", null, h("tr", null, headers.map((t) => h("th", { scope: "col" }, t)))), tbody));
}

export function details(summary, ...content) {
  return h("details", { class: "inline" }, h("summary", null, summary), content);
}

/** Text with its http(s) URLs (and NCBI FTP ones, served over https too) as links. */
export function linkify(raw) {
  const text = String(raw);
  const out = [];
  let at = 0;
  for (const m of text.matchAll(URL_RE)) {
    if (m.index > at) out.push(text.slice(at, m.index));
    out.push(extLink(m[0], m[0]));
    at = m.index + m[0].length;
  }
  if (at < text.length) out.push(text.slice(at));
  return out;
}

function label(key) {
  const s = key.replace(/_/g, " ");
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The record's remaining fields (GEO keeps many), folded away under "More fields". */
export function moreFields(extra) {
  if (!extra || typeof extra !== "object") return null;
  const entries = Object.entries(extra).filter(([, v]) => !empty(v));
  if (!entries.length) return null;
  const rows = entries.map(([key, value]) => {
    const values = Array.isArray(value) ? value : [value];
    const dd = values.length > 1
      ? h("ul", { class: "plain" }, values.map((v) => h("li", null, scalar(v))))
      : scalar(values[0]);
    return h("div", { class: "field" }, h("dt", null, label(key)), h("dd", null, dd));
  });
  return h("details", { class: "more-fields record-section" },
    h("summary", null, `More fields (${entries.length})`), h("dl", { class: "fields" }, rows));
}

function scalar(v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "object") return JSON.stringify(v);
  return linkify(String(v));
}
