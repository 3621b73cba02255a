// The Handinger panel: the emulated workers and schedules (each linked to its thread), the
// emulated clock with a button that fires the next schedule now, and a guide to the scripted
// agent's [[directives]] with one-click examples.
import { clear, h, postJSON } from "./dom.js";
import { key, store } from "./store.js";

export const EXAMPLES = [
  ["files=2", "Summarise this week's support tickets [[files=2]]", "publishes a Markdown report and a PNG chart; both land in the thread"],
  ["long", "Write the full market analysis [[long]]", "an answer over 45,000 characters: watch how the card stays within Slack's limits"],
  ["fail", "Check every supplier contract [[fail]]", "the agent stops halfway with an error; the card says so"],
  ["slow", "Plan the team offsite [[slow]]", "a turn 8× longer than usual: reply in the thread meanwhile and see it queued"],
  ["duration=S · chunks=N", "Give me a one-line status [[duration=1]] [[chunks=3]]", "how long the turn takes and in how many pieces it streams"],
  ["nosources · steps=N", "Brainstorm names [[nosources]] [[steps=0]]", "no sources, no tool steps"],
  ["echo", "<b>bold?</b> <script>alert(1)</script> <!channel> &amp; [[echo]]", "the answer is your text, as typed: hostile text stays inert"],
];

// The channel message whose thread is this worker's. The app marks each run's message with its
// key in metadata (`handinger_run`), the key it also sent Handinger as `Idempotency-Key`, so a
// card is linked as soon as it is posted, while its worker still runs; a reply's card links to
// its thread's root. Otherwise (keys off, or a message without metadata), the first channel
// message that names the worker: a finished card's footer, a digest.
export function threadOf(worker) {
  const keys = new Set(worker.keys || []);
  for (const message of store.messages.values()) {
    const payload = message.metadata && message.metadata.event_type === "handinger_run" ? message.metadata.event_payload : null;
    if (message.deleted || !payload || !keys.has(payload.ref)) continue;
    if (!message.is_reply) return message;
    const root = store.messages.get(key(message.channel, message.thread_ts));
    if (root) return root;
  }
  for (const message of store.messages.values()) {
    if (message.is_reply || message.deleted) continue;
    const blob = JSON.stringify(message.blocks || []) + (message.text || "");
    if (blob.includes(worker.id)) return message;
  }
  return null;
}

function describe(schedule) {
  if (schedule.type === "interval") return `every ${schedule.intervalSeconds} s`;
  if (schedule.type === "cron") return `cron ${schedule.cron}`;
  if (schedule.type === "delayed") return `once, ${schedule.delayInSeconds} s after creation`;
  return "once";
}

export function handingerPanel({ openThread, sendCommand }) {
  const clock = h("div", { class: "clock" });
  const workers = h("div", { class: "workers" });
  const schedules = h("div", { class: "schedules" });
  const error = h("div", { class: "panel-error", hidden: true });
  let overview = null;
  let pending = null;
  let lastFetch = 0;

  function threadLink(worker) {
    const root = worker ? threadOf(worker) : null;
    if (!root) return h("span", { class: "muted" }, "no thread yet");
    return h("button", { type: "button", class: "link open-thread", onclick: () => openThread(root) }, "Open thread");
  }

  async function advance(seconds) {
    const { status, data } = await postJSON("/_sandbox/handinger/clock", { advance: Math.max(0, seconds) });
    if (status >= 400) showError(data.error || `HTTP ${status}`);
    await refresh(true);
  }

  function showError(text) {
    error.textContent = `The Handinger emulator answered: ${text}`;
    error.hidden = false;
  }

  function draw() {
    if (!overview) return;
    error.hidden = true;
    clear(clock).append(
      h("div", {}, "Emulated time ", h("b", { class: "clock-now" }, new Date(overview.now).toLocaleString())),
      h(
        "div",
        { class: "clock-buttons" },
        h("button", { type: "button", onclick: () => advance(3600) }, "+1 hour"),
        h("button", { type: "button", onclick: () => advance(86400) }, "+1 day"),
        h(
          "button",
          {
            type: "button",
            class: "fire-next",
            disabled: overview.schedules.length === 0,
            onclick: () => advance(overview.schedules[0].next_run - overview.now_unix + 1),
          },
          "Fire the next schedule now",
        ),
      ),
    );
    clear(workers);
    if (!overview.workers.length) workers.append(h("p", { class: "muted" }, "No workers yet. Type /handinger and an instruction in a channel."));
    for (const w of [...overview.workers].reverse()) {
      workers.append(
        h(
          "div",
          { class: `worker ${w.status}${w.failed ? " failed" : ""}`, "data-worker-id": w.id },
          h("div", { class: "worker-head" }, h("span", { class: "dot" }), h("b", {}, w.inputs[0] || "(no input)"), " ", h("span", { class: "muted" }, `${w.turns} turn${w.turns === 1 ? "" : "s"} · ${w.failed ? "failed" : w.status}`)),
          h("div", { class: "worker-excerpt" }, w.output_excerpt || "…"),
          w.files.length ? h("div", { class: "muted" }, `files: ${w.files.join(", ")}`) : null,
          h("div", { class: "worker-foot" }, h("code", {}, w.id), " ", threadLink(w)),
        ),
      );
    }
    clear(schedules);
    if (!overview.schedules.length) schedules.append(h("p", { class: "muted" }, "No schedules. Try ⋯ → Schedule this… on a card, or /handinger schedule every 1h …"));
    for (const s of overview.schedules) {
      schedules.append(
        h(
          "div",
          { class: "schedule", "data-schedule-id": s.id },
          h("div", {}, h("b", {}, describe(s)), " · next ", new Date(s.nextRunAt).toLocaleString()),
          h("div", { class: "worker-excerpt" }, s.input),
          h("div", { class: "worker-foot" }, h("code", {}, s.id), " ", threadLink(overview.workers.find((w) => w.id === s.workerId))),
        ),
      );
    }
  }

  // Fetch the overview now, or (when `soon` is false) at most twice a second.
  async function refresh(now = false) {
    if (!store.handinger) return;
    const wait = now ? 0 : Math.max(0, 500 - (Date.now() - lastFetch));
    if (pending) return;
    pending = setTimeout(async () => {
      lastFetch = Date.now();
      try {
        const response = await fetch("/_sandbox/handinger/overview");
        const data = await response.json();
        if (!response.ok) showError(data.error || `HTTP ${response.status}`);
        else {
          overview = data;
          draw();
        }
      } catch (exc) {
        showError(String(exc));
      } finally {
        pending = null;
      }
    }, wait);
  }

  const guide = h(
    "div",
    { class: "guide" },
    h("p", {}, "The sandbox's Handinger is a scripted agent. Add ", h("code", {}, "[[directives]]"), " to an instruction to make it do something on purpose:"),
    EXAMPLES.map(([name, example, what]) =>
      h(
        "div",
        { class: "directive" },
        h("code", {}, `[[${name}]]`),
        h("span", {}, ` ${what} `),
        h("button", { type: "button", class: "try", title: `/handinger ${example}`, onclick: () => sendCommand(example) }, "Try it"),
      ),
    ),
    h("p", { class: "muted" }, "More: file=path/name.ext, version=K, filesize=BYTES, chars=N, foreign-file, relative-files (see README)."),
  );

  const el = h(
    "div",
    { class: "pane-body handinger-panel" },
    error,
    h("h3", {}, "Clock"),
    clock,
    h("h3", {}, "Workers"),
    workers,
    h("h3", {}, "Schedules"),
    schedules,
    h("h3", {}, "Scripted agent"),
    guide,
  );
  return { el, refresh, draw };
}
