// The Web API calls the app made, newest first, with how close each rate limit is to a 429.
import { clear, h } from "./dom.js";
import { store } from "./store.js";

const SHOWN = 200;

function summary(args) {
  const parts = [];
  for (const name of ["channel", "channel_id", "ts", "thread_ts", "name", "user", "trigger_id"]) {
    if (args[name]) parts.push(`${name}=${String(args[name]).slice(0, 40)}`);
  }
  return parts.join(" ");
}

export function callsPanel() {
  const limits = h("div", { class: "limits" });
  const list = h("div", { class: "calls" });
  const counts = h("div", { class: "muted" });

  function draw() {
    clear(limits);
    const sorted = [...store.limits].sort((a, b) => a.tokens / a.burst - b.tokens / b.burst).slice(0, 12);
    for (const l of sorted) {
      const fill = h("span", { class: "fill" });
      fill.style.width = `${Math.max(0, Math.min(100, (100 * l.tokens) / l.burst))}%`;
      limits.append(
        h(
          "div",
          { class: `limit${l.tokens < 1 ? " empty" : ""}` },
          h("span", { class: "limit-name" }, l.method, l.channel ? ` · ${l.channel}` : ""),
          h("span", { class: "bar" }, fill),
          h("span", { class: "limit-num" }, `${Math.floor(l.tokens)}/${l.burst} · ${l.per_minute}/min`),
        ),
      );
    }
    const limited = store.calls.filter((c) => c.status === 429).length;
    counts.textContent = `${store.calls.length} calls · ${limited} rate-limited (429) · ${store.stats.frames} updates pushed to this page`;
    clear(list);
    for (const call of store.calls.slice(-SHOWN).reverse()) {
      const status = call.ok ? "ok" : call.status === 429 ? "limited" : "error";
      list.append(
        h(
          "details",
          { class: `call ${status}`, "data-method": call.method },
          h(
            "summary",
            {},
            h("span", { class: "call-time" }, new Date(call.time * 1000).toLocaleTimeString()),
            h("span", { class: "call-method" }, call.method),
            h("span", { class: "call-status" }, call.ok ? "ok" : `${call.status} ${call.error || ""}`),
            h("span", { class: "call-args muted" }, summary(call.args || {})),
          ),
          h("pre", {}, JSON.stringify(call.args, null, 2)),
        ),
      );
    }
  }

  const el = h("div", { class: "pane-body calls-panel" }, h("h3", {}, "Rate limits (fullest buckets last)"), limits, counts, h("h3", {}, "Calls, newest first"), list);
  return { el, draw };
}
