// Entry point: the URL is the state. /?q=…&filters for a search, /?id=ACC for a record.

import { api } from "./api.js";
import { SearchBox } from "./combobox.js";
import { fmt, h, recordHref, replace } from "./dom.js";
import { isEmptyState, parseState, SearchView, stateUrl } from "./search.js";

const $ = (id) => document.getElementById(id);
// Typing in the box runs the search live; it needs this many characters.
const LIVE_MIN_CHARS = 2;

let typing = false; // the current history entry was made by typing (later keystrokes replace it)
let routed = 0; // counts route() calls, so a slow import cannot show a stale view

const searchView = new SearchView($("search-view"), { navigate });
const recordRoot = $("record-view");
const onRecordPage = () => !recordRoot.hidden;
let recordView = null;

// Record pages load their module on first use: a search needs none of it.
async function records() {
  if (!recordView) {
    const { RecordView } = await import("./record.js");
    recordView ??= new RecordView(recordRoot, {
      lastSearch: () => searchView.lastSearch(),
      setTab(tab) {
        const params = new URLSearchParams(location.search);
        if (tab) params.set("tab", tab);
        else params.delete("tab");
        history.replaceState(history.state, "", `/?${params}`);
      },
    });
  }
  return recordView;
}
const box = new SearchBox($("search-form"), $("q"), $("suggestions"), {
  onType(text) {
    if (onRecordPage()) return; // on a record page typing only suggests
    const q = text.trim();
    if (q && q.length < LIVE_MIN_CHARS) return;
    const state = { ...(searchView.state ?? parseState(new URLSearchParams())), q };
    navigate(isEmptyState(state) ? "/" : stateUrl(state), { replace: typing, live: true });
  },
  onSubmit(text) {
    const q = text.trim();
    const base = onRecordPage() ? null : searchView.state;
    const target = stateUrl({ ...(base ?? parseState(new URLSearchParams())), q });
    if (target === location.pathname + location.search) {
      typing = false;
      route();
      return;
    }
    navigate(target, { replace: typing });
  },
  onPick(suggestion) {
    if (suggestion.accession) {
      navigate(recordHref(suggestion.accession), { replace: typing });
    } else {
      const base = onRecordPage() ? null : searchView.state;
      navigate(stateUrl({ ...(base ?? parseState(new URLSearchParams())), q: suggestion.text }), { replace: typing });
    }
  },
});

function navigate(href, { replace: replaceEntry = false, live = false } = {}) {
  if (href === location.pathname + location.search && !live) {
    route();
    return;
  }
  // Remember where this entry was scrolled to, for the back button.
  history.replaceState({ ...history.state, scrollY: window.scrollY }, "");
  if (replaceEntry) history.replaceState({}, "", href);
  else history.pushState({}, "", href);
  typing = live;
  route(live ? null : 0);
}

/** Show the view the URL names; then scroll to `scrollY` (null: leave the scroll alone). */
async function route(scrollY = null) {
  const turn = ++routed;
  const params = new URLSearchParams(location.search);
  const id = params.get("id");
  if (id) {
    searchView.hide();
    recordRoot.hidden = false;
    if (!recordView) replace(recordRoot, h("p", { class: "loading", role: "status" }, "Loading…"));
    let view;
    try {
      view = await records();
    } catch {
      replace(recordRoot, h("p", { class: "state state-error", role: "alert" }, "This page failed to load; reload to try again."));
      return;
    }
    if (turn !== routed) return;
    await view.show(id, params.get("tab"));
    if (turn === routed && scrollY !== null) window.scrollTo(0, scrollY);
    return;
  }
  recordView?.hide();
  recordRoot.hidden = true;
  const state = parseState(params);
  if (document.activeElement !== box.input || !typing) box.value = state.q;
  searchView.show(state);
  if (scrollY !== null) requestAnimationFrame(() => window.scrollTo(0, scrollY));
}

// Same-origin links to the page itself are routed here instead of reloading it.
document.addEventListener("click", (e) => {
  const a = e.target.closest?.("a[href]");
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  if (a.target || a.hasAttribute("download")) return;
  const to = new URL(a.href, location.href);
  if (to.origin !== location.origin || to.pathname !== "/") return;
  e.preventDefault();
  navigate(to.pathname + to.search);
});

window.addEventListener("popstate", () => {
  typing = false;
  // A search still on screen keeps its place; a record page scrolls once it has loaded.
  const y = history.state?.scrollY;
  route(typeof y === "number" ? y : 0);
});

async function footer() {
  const el = $("stats");
  try {
    const stats = await api.stats();
    const c = stats.counts ?? {};
    const parts = [
      [c.series, "series", "series"], [c.sample, "sample", "samples"], [c.platform, "platform", "platforms"],
      [c.dataset, "dataset", "datasets"], [c.publication, "publication", "publications"],
    ].filter(([n]) => typeof n === "number").map(([n, one, many]) => `${fmt(n)} ${n === 1 ? one : many}`);
    if (stats.last_ingest) parts.push(`data as of ${day(stats.last_ingest)}`);
    replace(el, parts.join(" · "));
  } catch {
    replace(el, h("span", { class: "muted" }, "Corpus statistics are unavailable."));
  }
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** "2026-11-28T21:42:44+00:00" -> "28 Nov 2026" (the date as the server wrote it). */
function day(iso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(iso));
  return m ? `${Number(m[3])} ${MONTHS[Number(m[2]) - 1]} ${m[1]}` : String(iso);
}

history.scrollRestoration = "manual";
route();
footer();
