// Chart figures (plotly.js {data, layout}) built from API data, and the library's loader.
// The builders are pure functions of JSON, so a test can draw them from a fixture.

// plotly.js as the pinned PyPI package `plotly` ships it (api/charts.py serves it; a test
// checks this version against the installed file). Loaded by a script tag on first use.
export const PLOTLY_VERSION = "4.1.1";
export const PLOTLY_URL = `/static/vendor/plotly-${PLOTLY_VERSION}.min.js`;
export const PLOTLY_CSS_URL = `/static/vendor/plotly-${PLOTLY_VERSION}.css`;
// The bundled maplibre-gl injects a <style> unless an element with this id exists; its
// rules are in the stylesheet above (api/charts.py; a test checks the id in the bundle).
export const MAPLIBRE_STYLE_ID = "9f215cf04c5486422605d13261cb87401f4e7763b6296af81e98efbc0130da53";

const BAR = "#3b7dd8";
const MUTED = "#9aa3b2";
const UP = "#c0392b";
const DOWN = "#2e6fd1";
const GROUP_COLOURS = ["#e08214", "#5e3c99"];
const FONT = { family: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size: 12 };
// The sample-count buckets of the facet, in size order (search/fields.py SAMPLE_BUCKETS).
export const SAMPLE_BUCKETS = ["1-5", "6-10", "11-20", "21-50", "51-100", "101-500", ">500"];
export const BARS = {
  organism: ["Series by organism", "Organism"],
  type: ["Series by experiment type", "Experiment type"],
  platform: ["Series by platform", "Platform"],
};
// Volcano thresholds: BH-adjusted moderated p and a two-fold change, as GEO2R draws them.
export const ALPHA = 0.05;
export const MIN_LOG2FC = 1;
const LABELLED = 8;

let loading = null;

function attach(el, what) {
  return new Promise((resolve, reject) => {
    el.onload = resolve;
    el.onerror = () => {
      el.remove();
      reject(new Error(`The charting library's ${what} failed to load.`));
    };
    document.head.appendChild(el);
  });
}

/** plotly.js sets a few style attributes on SVG elements (the heatmap image's
 * image-rendering, colour-bar fills), which style-src 'self' blocks and reports. Set by
 * script, the same declarations through the CSSOM are allowed: route them there. Markup
 * parsed into the page is unaffected, so the policy is no weaker. */
function styleSvgThroughCssom() {
  const proto = SVGElement.prototype;
  if (Object.prototype.hasOwnProperty.call(proto, "setAttribute")) return;
  const setAttribute = Element.prototype.setAttribute;
  proto.setAttribute = function setSvgAttribute(name, value) {
    if (String(name).toLowerCase() === "style") {
      this.style.cssText = String(value);
      return undefined;
    }
    return setAttribute.call(this, name, value);
  };
}

/** window.Plotly, loading the library by a <script> the first time a chart is drawn. */
export function loadPlotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  loading ??= (async () => {
    // plotly.js injects its base styles as <style> rules, which the CSP (style-src
    // 'self') blocks; an element with this id and class is its switch to skip them, and
    // the same rules come as a stylesheet (api/charts.py). It must exist before the
    // script runs.
    let css = document.getElementById("plotly.js-style-global");
    const styles = css ? Promise.resolve() : attach(css = Object.assign(document.createElement("link"),
      { id: "plotly.js-style-global", className: "no-inline-styles", rel: "stylesheet", href: PLOTLY_CSS_URL }), "stylesheet");
    if (!document.getElementById(MAPLIBRE_STYLE_ID)) {
      document.head.appendChild(Object.assign(document.createElement("meta"), { id: MAPLIBRE_STYLE_ID, name: "plotly-maplibre-styles" }));
    }
    styleSvgThroughCssom();
    const script = Object.assign(document.createElement("script"), { src: PLOTLY_URL, async: true });
    await Promise.all([styles, attach(script, "script")]);
    if (!window.Plotly) throw new Error("The charting library did not start.");
    return window.Plotly;
  })();
  loading.catch(() => { loading = null; }); // a later chart tries again
  return loading;
}

/** The chart data of /api/v1/charts/results, from a search response's facets (charts.py). */
export function chartsFromFacets(total, facets) {
  const f = facets ?? {};
  const charts = {};
  for (const [name, [title, label]] of Object.entries(BARS)) {
    const buckets = f[name] ?? [];
    charts[name] = {
      kind: "bar", title, x_label: "Series", y_label: label,
      categories: buckets.map((b) => String(b.value)), counts: buckets.map((b) => b.count),
    };
  }
  const byYear = new Map();
  let unknownYears = 0;
  for (const b of f.year ?? []) {
    if (/^\d{4}$/.test(String(b.value))) byYear.set(Number(b.value), b.count);
    else unknownYears += b.count;
  }
  const years = [];
  if (byYear.size) for (let y = Math.min(...byYear.keys()); y <= Math.max(...byYear.keys()); y += 1) years.push(y);
  charts.year = {
    kind: "timeline", title: "Release timeline", x_label: "Release year", y_label: "Series",
    categories: years.map(String), counts: years.map((y) => byYear.get(y) ?? 0), unknown: unknownYears,
  };
  const bySize = new Map((f.samples ?? []).map((b) => [String(b.value), b.count]));
  charts.samples = {
    kind: "histogram", title: "Sample-size histogram", x_label: "Samples per series", y_label: "Series",
    categories: [...SAMPLE_BUCKETS], counts: SAMPLE_BUCKETS.map((b) => bySize.get(b) ?? 0),
    unknown: bySize.get("unknown") ?? 0,
  };
  return { total, charts };
}

function baseLayout(title, extra = {}) {
  return {
    title: { text: title, x: 0.02, xanchor: "left" },
    font: FONT,
    paper_bgcolor: "#ffffff",
    plot_bgcolor: "#ffffff",
    margin: { l: 70, r: 24, t: 56, b: 56 },
    hoverlabel: { namelength: -1 },
    ...extra,
  };
}

function axis(title, extra = {}) {
  return { title: { text: title }, automargin: true, gridcolor: "#e3e6eb", zeroline: false, ...extra };
}

/** A plotly figure of one chart of chartsFromFacets / the charts API. */
export function facetFigure(chart) {
  if (chart.kind === "bar") {
    const n = chart.categories.length;
    return {
      data: [{
        type: "bar", orientation: "h", name: chart.x_label, y: chart.categories, x: chart.counts,
        marker: { color: chart.categories.map((c) => (c === "unknown" ? MUTED : BAR)) },
        hovertemplate: `%{y}: %{x:,} series<extra></extra>`,
      }],
      layout: baseLayout(chart.title, {
        height: Math.max(220, 110 + 22 * n),
        xaxis: axis(chart.x_label),
        // Most first from the top; category labels as they are (no numeric parsing).
        yaxis: axis(chart.y_label, { type: "category", autorange: "reversed" }),
        showlegend: false,
      }),
    };
  }
  const timeline = chart.kind === "timeline";
  return {
    data: [timeline
      ? { type: "scatter", mode: "lines+markers", name: chart.y_label, x: chart.categories, y: chart.counts,
        line: { color: BAR }, fill: "tozeroy", hovertemplate: `%{x}: %{y:,} series<extra></extra>` }
      : { type: "bar", name: chart.y_label, x: chart.categories, y: chart.counts, marker: { color: BAR },
        hovertemplate: `%{x} samples: %{y:,} series<extra></extra>` }],
    layout: baseLayout(chart.title, {
      height: 320,
      xaxis: axis(chart.x_label, { type: "category" }),
      yaxis: axis(chart.y_label, { rangemode: "tozero" }),
      showlegend: false,
    }),
  };
}

const finite = (v) => typeof v === "number" && Number.isFinite(v);

/** Up, down and unchanged probes of a DE result (the statistics API's job result). */
export function volcanoPoints(result) {
  const classes = { up: [], down: [], ns: [] };
  for (const r of result.results ?? []) {
    if (!finite(r.log2fc) || !finite(r.mod_p_adj)) continue;
    const y = -Math.log10(Math.max(r.mod_p_adj, 1e-300));
    const point = { x: r.log2fc, y, gene: r.gene || "", probe: r.probe, p: r.mod_p_adj };
    if (r.mod_p_adj < ALPHA && r.log2fc >= MIN_LOG2FC) classes.up.push(point);
    else if (r.mod_p_adj < ALPHA && r.log2fc <= -MIN_LOG2FC) classes.down.push(point);
    else classes.ns.push(point);
  }
  return classes;
}

/** One point per cell of a grid: 20,000 unchanged probes drawn as SVG would take seconds,
 * and most of them sit on top of each other; the significant ones are all drawn. */
export function thin(points, cells = [160, 80]) {
  if (points.length <= 3000) return points;
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const seen = new Set();
  return points.filter((p) => {
    const cx = Math.floor(((p.x - x0) / (x1 - x0 || 1)) * cells[0]);
    const cy = Math.floor(((p.y - y0) / (y1 - y0 || 1)) * cells[1]);
    const key = cx * 10_000 + cy;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function groupLabels(result) {
  return [result.groups?.group?.label ?? "group", result.groups?.vs?.label ?? "reference"];
}

/** Volcano plot: log2 fold change against -log10 BH-adjusted moderated p. */
export function volcanoFigure(result) {
  const classes = volcanoPoints(result);
  const [group, vs] = groupLabels(result);
  const ns = thin(classes.ns);
  const trace = (points, name, color, size) => ({
    type: "scatter", mode: "markers", name, x: points.map((p) => p.x), y: points.map((p) => p.y),
    customdata: points.map((p) => [p.gene || "–", p.probe, p.p]),
    marker: { color, size, opacity: 0.8 },
    hovertemplate: "<b>%{customdata[0]}</b> (%{customdata[1]})<br>log2 FC %{x:.2f}<br>adj. p %{customdata[2]:.2e}<extra>%{fullData.name}</extra>",
  });
  const nsName = ns.length < classes.ns.length
    ? `Not significant (${classes.ns.length.toLocaleString("en")}; ${ns.length.toLocaleString("en")} drawn)`
    : `Not significant (${classes.ns.length.toLocaleString("en")})`;
  const top = [...classes.up, ...classes.down].sort((a, b) => a.p - b.p).slice(0, LABELLED);
  const yLine = -Math.log10(ALPHA);
  const dash = { color: "#6b7280", width: 1, dash: "dash" };
  return {
    data: [
      trace(ns, nsName, MUTED, 4),
      trace(classes.down, `Down in ${group} (${classes.down.length})`, DOWN, 6),
      trace(classes.up, `Up in ${group} (${classes.up.length})`, UP, 6),
    ],
    layout: baseLayout(`${result.accession}: ${group} vs ${vs}`, {
      height: 520,
      xaxis: axis(`log2 fold change (${group} / ${vs})`, { zeroline: true }),
      yaxis: axis("−log10 adjusted p (moderated t)", { rangemode: "tozero" }),
      legend: { orientation: "h", y: -0.18 },
      shapes: [
        { type: "line", xref: "paper", x0: 0, x1: 1, y0: yLine, y1: yLine, line: dash },
        { type: "line", yref: "paper", y0: 0, y1: 1, x0: -MIN_LOG2FC, x1: -MIN_LOG2FC, line: dash },
        { type: "line", yref: "paper", y0: 0, y1: 1, x0: MIN_LOG2FC, x1: MIN_LOG2FC, line: dash },
      ],
      // The most significant genes named; staggered, since they crowd the top corners.
      annotations: top.filter((p) => p.gene).map((p, i) => ({
        x: p.x, y: p.y, text: p.gene, showarrow: true, arrowhead: 0, arrowcolor: "#6b7280",
        ax: p.x < 0 ? 30 + (i % 3) * 25 : -30 - (i % 3) * 25, ay: 14 + (i % 4) * 12, font: { size: 10 },
      })),
    }),
  };
}

/** Heatmap of the top probes (z-scored log2 values), samples ordered and coloured by group. */
export function heatmapFigure(result) {
  const hm = result.heatmap ?? {};
  const [group, vs] = groupLabels(result);
  const labels = { group, vs };
  const order = (hm.samples ?? []).map((s, i) => i)
    .sort((a, b) => (hm.groups[a] === hm.groups[b] ? 0 : hm.groups[a] === "group" ? -1 : 1));
  const samples = order.map((i) => hm.samples[i]);
  const groups = order.map((i) => hm.groups[i]);
  // Unique row labels: plotly merges repeated category names (two probes of one gene).
  const rows = (hm.probes ?? []).map((p, i) => (hm.genes?.[i] ? `${hm.genes[i]} (${p})` : p));
  const z = (hm.values ?? []).map((row) => order.map((i) => row[i]));
  const colourOf = (g) => (g === "group" ? 0 : 1);
  const strip = [GROUP_COLOURS[0], GROUP_COLOURS[0], GROUP_COLOURS[1], GROUP_COLOURS[1]];
  return {
    data: [
      {
        type: "heatmap", name: "z-score", x: samples, y: rows, z, zmid: 0, colorscale: "RdBu", // plotly's RdBu: blue low, red high
        colorbar: { title: { text: "z-score" }, len: 0.6, y: 0.4 },
        hovertemplate: "%{y}<br>%{x}: z = %{z:.2f}<extra></extra>",
      },
      {
        type: "heatmap", name: "Group", x: samples, y: ["Group"], z: [groups.map(colourOf)], yaxis: "y2",
        zmin: 0, zmax: 1, showscale: false,
        colorscale: [[0, strip[0]], [0.5, strip[1]], [0.5, strip[2]], [1, strip[3]]],
        customdata: [groups.map((g) => labels[g] ?? g)],
        hovertemplate: "%{x}: %{customdata}<extra></extra>",
      },
      // Legend entries of the group colours (the strip itself has no legend).
      ...["group", "vs"].map((g, i) => ({
        type: "scatter", mode: "markers", x: [null], y: [null], name: labels[g],
        marker: { color: GROUP_COLOURS[i], size: 12, symbol: "square" }, showlegend: true, hoverinfo: "skip",
      })),
    ],
    layout: baseLayout(`${result.accession}: top ${rows.length} probes by adjusted p`, {
      height: 200 + 14 * rows.length,
      margin: { l: 150, r: 24, t: 80, b: 110 },
      xaxis: axis("Sample", { type: "category", tickangle: -60, showgrid: false }),
      yaxis: axis("Gene (probe)", { type: "category", autorange: "reversed", domain: [0, 0.94], showgrid: false, tickfont: { size: 10 } }),
      yaxis2: { domain: [0.955, 1], showticklabels: false, fixedrange: true, showgrid: false },
      legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom", title: { text: "Sample group" } },
    }),
  };
}

/** Draw a figure into `el`; the modebar's camera button saves an SVG, and Plotly.toImage
 * gives PNG or SVG data URLs for the buttons under the chart. */
export async function draw(el, figure, filename) {
  const Plotly = await loadPlotly();
  await Plotly.newPlot(el, figure.data, figure.layout, {
    responsive: true,
    displaylogo: false,
    displayModeBar: true,
    // No "share to Plotly Cloud" upload, and no selection tools (nothing uses a selection).
    modeBarButtonsToRemove: ["sendChartToCloud", "select2d", "lasso2d"],
    toImageButtonOptions: { format: "svg", filename },
  });
  return el;
}

function save(blob, filename) {
  const href = URL.createObjectURL(blob);
  const a = Object.assign(document.createElement("a"), { href, download: filename, hidden: true });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 10_000);
}

/** Save a chart as SVG or PNG. The PNG is rasterised here from plotly's SVG (a data URL):
 * plotly's own PNG path loads a blob: image, which the CSP (img-src 'self' data:) blocks. */
export async function download(el, format, name) {
  const Plotly = await loadPlotly();
  const width = Math.round(el.clientWidth || 800);
  const height = Math.round(el.clientHeight || 500);
  const svgUrl = await Plotly.toImage(el, { format: "svg", width, height });
  const svg = decodeURIComponent(svgUrl.slice(svgUrl.indexOf(",") + 1));
  if (format === "svg") {
    save(new Blob([svg], { type: "image/svg+xml" }), `${name}.svg`);
    return;
  }
  const img = new Image();
  await new Promise((resolve, reject) => {
    img.onload = resolve;
    img.onerror = () => reject(new Error("The chart could not be rasterised."));
    img.src = svgUrl;
  });
  const scale = 2; // a print-friendly PNG
  const canvas = Object.assign(document.createElement("canvas"), { width: width * scale, height: height * scale });
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  if (!blob) throw new Error("The chart could not be rasterised.");
  save(blob, `${name}.png`);
}
