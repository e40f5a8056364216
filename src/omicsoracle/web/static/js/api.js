// The one seam to the HTTP API: JSON in, problem+json (RFC 9457) errors out as ApiError.

export class ApiError extends Error {
  constructor(status, title, detail, body = null) {
    super(detail || title);
    this.name = "ApiError";
    this.status = status; // 0: the server could not be reached
    this.title = title;
    this.detail = detail;
    this.body = body;
  }

  get network() {
    return this.status === 0;
  }
}

export function isAbort(err) {
  return err?.name === "AbortError";
}

/** "/path?k=v&k=v2" from a {key: value | value[]} object; empty values are left out. */
export function url(path, params) {
  const qs = new URLSearchParams();
  for (const [key, value] of Object.entries(params ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) {
      if (v !== null && v !== undefined && v !== "") qs.append(key, String(v));
    }
  }
  const s = qs.toString();
  return s ? `${path}?${s}` : path;
}

export function getJSON(path, { signal } = {}) {
  return requestJSON(path, { signal });
}

/** POST a JSON body; the answer as getJSON gives it (problem details as ApiError). */
export function postJSON(path, body, { signal } = {}) {
  return requestJSON(path, {
    signal,
    method: "POST",
    body: JSON.stringify(body),
    headers: { "Content-Type": "application/json" },
  });
}

/** Resolves after `ms`; rejects with an AbortError when `signal` aborts first. */
export function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(new DOMException("stopped", "AbortError"));
    }, { once: true });
  });
}

async function requestJSON(path, { signal, method = "GET", body, headers = {} }) {
  let resp;
  try {
    resp = await fetch(path, { signal, method, body, headers: { Accept: "application/json", ...headers } });
  } catch (err) {
    if (isAbort(err)) throw err;
    throw new ApiError(0, "Network error", "The server could not be reached.");
  }
  let data = null;
  if ((resp.headers.get("content-type") || "").includes("json")) {
    try {
      data = await resp.json();
    } catch {
      data = null;
    }
  }
  if (!resp.ok) {
    const title = (data && typeof data.title === "string" && data.title) || resp.statusText || "Error";
    const detail = data && typeof data.detail === "string" ? data.detail : `HTTP ${resp.status}`;
    throw new ApiError(resp.status, title, detail, data);
  }
  if (data === null) throw new ApiError(resp.status, "Bad response", "The server did not answer JSON.");
  return data;
}

// Typed record routes by identifier shape; a bare number is a PubMed ID.
const ROUTES = [
  [/^GSE\d+$/, "series"],
  [/^GSM\d+$/, "samples"],
  [/^GPL\d+$/, "platforms"],
  [/^GDS\d+$/, "datasets"],
  [/^\d{1,9}$/, "publications"],
];

export function normalizeId(raw) {
  return String(raw ?? "").trim().toUpperCase().replace(/^PMID:?\s*/, "");
}

export function recordRoute(id) {
  const hit = ROUTES.find(([re]) => re.test(id));
  return hit ? `/api/v1/${hit[1]}/${encodeURIComponent(id)}` : null;
}

export const SEARCH_PAGE = 50;

export const api = {
  search: (params, opts) => getJSON(url("/api/v1/search", params), opts),
  suggest: (q, opts) => getJSON(url("/api/v1/suggest", { q, limit: 8 }), opts),
  stats: (opts) => getJSON("/api/v1/stats", opts),
  exportUrl: (params, format) => url("/api/v1/export", { ...params, format }),

  async record(id, { samplesOffset, samplesLimit, signal } = {}) {
    const route = recordRoute(id);
    if (!route) {
      throw new ApiError(422, "Unprocessable Content", `not a GEO accession or PubMed ID: '${id}'`);
    }
    const params = { samples_offset: samplesOffset, samples_limit: samplesLimit };
    return getJSON(url(route, params), { signal });
  },

  similar: (acc, opts) =>
    getJSON(url(`/api/v1/series/${encodeURIComponent(acc)}/similar`, { limit: 10 }), opts),

  /** All samples of a series (paged by 500), up to `max`; for the analysis tabs. */
  async allSamples(record, max = 5000) {
    const page = record.samples_page;
    if (!page) return [];
    const items = [...page.items];
    while (items.length < Math.min(page.total, max)) {
      const more = await this.record(record.accession, {
        samplesOffset: page.offset + items.length,
        samplesLimit: 500,
      });
      const got = more.samples_page?.items ?? [];
      if (!got.length) break;
      items.push(...got);
    }
    return items;
  },
};
