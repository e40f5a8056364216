// DOM building without markup strings: data only ever reaches the page as text nodes,
// so a title like "<img src=x onerror=alert(1)>" shows literally and never runs.


/**
 * Create an element. attrs: {class, dataset: {...}, on: {event: fn}, hidden: true,
 * any-attribute: value}; null/false/undefined attributes are skipped. Children:
 * strings and numbers become text nodes, arrays are flattened, null/false skipped.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

export function setAttrs(el, attrs) {
  if (!attrs) return el;
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "on") {
      for (const [event, fn] of Object.entries(value)) el.addEventListener(event, fn);
    } else if (name === "dataset") {
      Object.assign(el.dataset, value);
    } else if (name === "class") {
      el.className = Array.isArray(value) ? value.filter(Boolean).join(" ") : value;
    } else if (name === "text") {
      el.textContent = String(value);
    } else if (value === true) {
      el.setAttribute(name, "");
    } else {
      el.setAttribute(name, String(value));
    }
  }
  return el;
}

export function append(parent, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else if (child instanceof Node) parent.appendChild(child);
    else parent.appendChild(document.createTextNode(String(child)));
  }
  return parent;
}

/** Replace all children of el. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** 42129 -> "42,129". (Not Intl.NumberFormat: building one costs 30-50 ms at startup.) */
export function fmt(n) {
  if (typeof n !== "number" || !Number.isFinite(n)) return "–";
  const text = String(Math.abs(n));
  if (text.includes("e")) return String(n);
  const [whole, frac] = text.split(".");
  return `${n < 0 ? "-" : ""}${whole.replace(/\B(?=(\d{3})+$)/g, ",")}${frac ? `.${frac}` : ""}`;
}

export function plural(n, one, many = `${one}s`) {
  return `${fmt(n)} ${n === 1 ? one : many}`;
}

/** A URL safe to put in href: only http(s); NCBI's FTP hosts are rewritten to https. */
export function safeUrl(raw) {
  if (typeof raw !== "string") return null;
  const text = raw.trim().replace(/^ftp:\/\/(ftp\.ncbi\.(?:nlm\.)?nih\.gov)\//i, "https://$1/");
  let url;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
}

/** An external link (new tab, no referrer), or plain text when the URL is not http(s). */
export function extLink(raw, label) {
  const href = safeUrl(raw);
  if (!href) return document.createTextNode(label ?? String(raw ?? ""));
  return h("a", { href, target: "_blank", rel: "noopener noreferrer", class: "ext" }, label ?? raw);
}

/** A link to one of our own record pages. */
export function recordHref(id) {
  return `/?id=${encodeURIComponent(id)}`;
}

export function recordLink(id, label) {
  return h("a", { href: recordHref(id), class: "acc" }, label ?? id);
}

export function geoLink(acc) {
  const href = `https://www.ncbi.nlm.nih.gov/geo/query/acc.cgi?acc=${encodeURIComponent(acc)}`;
  return extLink(href, "View on GEO");
}

/**
 * Text with <mark>s at [start, end) offsets counted in Unicode code points (Python str
 * indices, as the server computes them). JS strings index UTF-16 units, so the offsets
 * are converted whenever the text holds astral characters (emoji, some symbols).
 */
export function highlighted(text, ranges, markAttrs) {
  const frag = document.createDocumentFragment();
  const spans = toUtf16Ranges(text, ranges);
  let at = 0;
  for (const [start, end] of spans) {
    if (start > at) frag.appendChild(document.createTextNode(text.slice(at, start)));
    frag.appendChild(h("mark", markAttrs, text.slice(start, end)));
    at = end;
  }
  if (at < text.length) frag.appendChild(document.createTextNode(text.slice(at)));
  return frag;
}

export function toUtf16Ranges(text, ranges) {
  if (!Array.isArray(ranges) || !ranges.length) return [];
  const astral = /[\uD800-\uDFFF]/.test(text);
  let index = null;
  if (astral) {
    index = [0];
    let unit = 0;
    for (const ch of text) {
      unit += ch.length;
      index.push(unit);
    }
  }
  const points = astral ? index.length - 1 : text.length;
  const conv = (cp) => (astral ? index[cp] : cp);
  const valid = ranges
    .filter((r) => Array.isArray(r) && Number.isInteger(r[0]) && Number.isInteger(r[1]))
    .map(([s, e]) => [Math.max(0, s), Math.min(points, e)])
    .filter(([s, e]) => e > s)
    .sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  const merged = [];
  for (const [s, e] of valid) {
    const last = merged[merged.length - 1];
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else merged.push([s, e]);
  }
  return merged.map(([s, e]) => [conv(s), conv(e)]);
}
