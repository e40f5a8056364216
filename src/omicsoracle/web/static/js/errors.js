// Error states: the problem+json detail when the server sent one, a retry when it may help.

import { h } from "./dom.js";

export function errorBox(err, retry, { heading } = {}) {
  const status = err?.status;
  let title = err?.title || "Something went wrong";
  let detail = err?.detail || String(err?.message || err);
  if (status === 0) {
    title = "Could not reach the server";
    detail = "Check your connection or whether the server is running, then try again.";
  } else if (status === 404) {
    title = "Not found";
  } else if (status === 422) {
    title = "Not a valid request";
  }
  const canRetry = retry && (status === 0 || status === undefined || status >= 500 || status === 429);
  const Heading = heading ?? "h2";
  return h("div", { class: "state state-error", role: "alert", dataset: { status: String(status ?? "") } },
    h(Heading, { class: "state-title", tabindex: "-1" }, title),
    h("p", { class: "state-detail" }, detail),
    canRetry && h("button", { type: "button", class: "btn", on: { click: retry } }, "Try again"));
}

export function loadingBox(text = "Loading…") {
  return h("p", { class: "loading", role: "status" }, text);
}
