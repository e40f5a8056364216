// Shared by the analysis tabs (loaded with whichever tab opens first).

/** key -> Map(value -> number of samples), from [[key, value], ...] per sample. */
export function tally(samples) {
  const keys = new Map();
  for (const s of samples) {
    for (const pair of s.characteristics ?? []) {
      if (!Array.isArray(pair) || pair.length < 2) continue;
      const [key, value] = [String(pair[0]).trim() || "(unnamed)", String(pair[1]).trim()];
      if (!keys.has(key)) keys.set(key, new Map());
      const values = keys.get(key);
      values.set(value, (values.get(value) ?? 0) + 1);
    }
  }
  return keys;
}

const groupCache = new WeakMap();

/** Characteristic-like groups of a record: sample characteristics, or GDS subsets. */
export function groupsOf(record, api) {
  // Each tab asks; the samples of a large series are fetched once.
  if (!groupCache.has(record)) {
    const loading = loadGroups(record, api);
    loading.catch(() => groupCache.delete(record)); // a failed fetch is tried again
    groupCache.set(record, loading);
  }
  return groupCache.get(record);
}

async function loadGroups(record, api) {
  if (record.record_type === "dataset") {
    const keys = new Map();
    for (const s of record.subsets_detail ?? record.subsets ?? []) {
      if (!keys.has(s.type)) keys.set(s.type, new Map());
      keys.get(s.type).set(s.description, (s.samples ?? []).length);
    }
    return { keys, samples: record.n_samples ?? null, source: "subsets" };
  }
  const samples = await api.allSamples(record);
  return { keys: tally(samples), samples: samples.length, source: "characteristics", list: samples };
}

/** The q-quantile of sorted numbers, linearly interpolated (R type 7, numpy's default). */
export function quantile(sorted, q) {
  if (!sorted.length) return null;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** min, quartiles, max, mean of a list of numbers (non-numbers ignored). */
export function describe(values) {
  const xs = values.filter((v) => typeof v === "number" && Number.isFinite(v)).sort((a, b) => a - b);
  if (!xs.length) return { n: 0 };
  const sum = xs.reduce((a, b) => a + b, 0);
  return {
    n: xs.length, min: xs[0], q1: quantile(xs, 0.25), median: quantile(xs, 0.5),
    q3: quantile(xs, 0.75), max: xs[xs.length - 1], mean: sum / xs.length, sum,
  };
}

/** [[value, count], ...] of how many items carry each value of a list field, most first. */
export function shares(items, field) {
  const counts = new Map();
  for (const item of items) {
    for (const v of new Set(item[field] ?? [])) counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1] || (String(a[0]) < String(b[0]) ? -1 : 1));
}

/** Characteristic keys worth grouping by: more than one value, fewer values than samples. */
export function informativeKeys(keys) {
  return [...keys].filter(([, values]) => values.size > 1 &&
    [...values.values()].some((n) => n > 1)).map(([key]) => key);
}
