// The search box: an ARIA 1.2 combobox with a listbox of suggestions from /api/v1/suggest.

import { api, isAbort } from "./api.js";
import { h, replace } from "./dom.js";

const DEBOUNCE_MS = 150;
// A server without the suggest route is asked again only after this long.
const RETRY_MISSING_MS = 60_000;
const KINDS = { title: "Title", organism: "Organism", term: "Term", accession: "Accession" };

export class SearchBox {
  /**
   * onType(text): the text changed (debounced); onSubmit(text): Enter or the button;
   * onPick(suggestion): a suggestion was chosen.
   */
  constructor(form, input, listbox, { onType, onSubmit, onPick }) {
    Object.assign(this, { form, input, listbox, onType, onSubmit, onPick });
    this.items = [];
    this.active = -1;
    this.timer = 0;
    this.controller = null;
    this.missingUntil = 0;
    input.addEventListener("input", () => this.changed());
    input.addEventListener("keydown", (e) => this.key(e));
    input.addEventListener("blur", () => this.close());
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.close();
      this.onSubmit(input.value);
    });
    // Keep the focus in the input while a click on an option lands.
    listbox.addEventListener("mousedown", (e) => e.preventDefault());
    listbox.addEventListener("click", (e) => {
      const option = e.target.closest("[role=option]");
      if (option) this.choose(Number(option.dataset.index));
    });
  }

  set value(text) {
    if (this.input.value !== text) this.input.value = text;
  }

  changed() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      const text = this.input.value;
      this.onType(text);
      this.suggest(text);
    }, DEBOUNCE_MS);
  }

  async suggest(text) {
    this.controller?.abort();
    if (!text.trim() || Date.now() < this.missingUntil) {
      this.close();
      return;
    }
    this.controller = new AbortController();
    let resp;
    try {
      resp = await api.suggest(text, { signal: this.controller.signal });
    } catch (err) {
      if (!isAbort(err)) {
        if (err.status === 404) this.missingUntil = Date.now() + RETRY_MISSING_MS;
        this.close();
      }
      return;
    }
    if (this.input.value !== text || document.activeElement !== this.input) return;
    this.render(text, Array.isArray(resp.suggestions) ? resp.suggestions : []);
  }

  render(text, items) {
    this.items = items.filter((s) => s && typeof s.text === "string");
    this.active = -1;
    this.input.removeAttribute("aria-activedescendant");
    replace(this.listbox, this.items.map((s, i) => option(s, i, text)));
    const open = this.items.length > 0;
    this.listbox.hidden = !open;
    this.input.setAttribute("aria-expanded", String(open));
  }

  close() {
    this.controller?.abort();
    this.items = [];
    this.active = -1;
    this.listbox.hidden = true;
    replace(this.listbox);
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
  }

  key(e) {
    const open = !this.listbox.hidden && this.items.length > 0;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      if (!open) {
        if (e.key === "ArrowDown" && this.input.value.trim()) this.suggest(this.input.value);
        return;
      }
      e.preventDefault();
      const n = this.items.length;
      const step = e.key === "ArrowDown" ? 1 : -1;
      this.move(this.active < 0 && step < 0 ? n - 1 : (this.active + step + n) % n);
    } else if (e.key === "Enter" && open && this.active >= 0) {
      e.preventDefault();
      this.choose(this.active);
    } else if (e.key === "Escape") {
      if (open) {
        e.preventDefault();
        this.close();
      } else if (this.input.value) {
        e.preventDefault();
        this.input.value = "";
      }
    } else if (e.key === "Enter") {
      clearTimeout(this.timer);
    }
  }

  move(index) {
    const options = this.listbox.children;
    if (this.active >= 0) options[this.active]?.setAttribute("aria-selected", "false");
    this.active = index;
    const el = options[index];
    el.setAttribute("aria-selected", "true");
    el.scrollIntoView({ block: "nearest" });
    this.input.setAttribute("aria-activedescendant", el.id);
  }

  choose(index) {
    const picked = this.items[index];
    if (!picked) return;
    clearTimeout(this.timer);
    this.close();
    if (!picked.accession) this.input.value = picked.text;
    this.onPick(picked);
  }
}

function option(s, i, typed) {
  const kind = KINDS[s.kind] ?? s.kind ?? "";
  const dataset = { index: String(i), kind: s.kind ?? "" };
  if (s.accession) dataset.accession = s.accession;
  return h("li", { role: "option", id: `suggestion-${i}`, "aria-selected": "false", dataset, class: "option" },
    h("span", { class: "option-text" }, marked(s.text, typed)),
    typeof s.detail === "string" && s.detail ? h("span", { class: "option-detail" }, s.detail) : null,
    s.accession && s.kind !== "accession" ? h("span", { class: "option-acc" }, s.accession) : null,
    kind ? h("span", { class: "option-kind" }, kind) : null);
}

/** The suggestion with the typed text in bold (found case-insensitively). */
function marked(text, typed) {
  const needle = typed.trim().toLowerCase();
  const lower = text.toLowerCase();
  const at = needle && lower.length === text.length ? lower.indexOf(needle) : -1;
  if (at < 0) return text;
  return [text.slice(0, at), h("b", null, text.slice(at, at + needle.length)), text.slice(at + needle.length)];
}
