// Slack's agent surfaces on the sandbox page: open a thread of the app's assistant pane (its
// thread then shows in the thread pane), and the App Home tab as the app last published it for
// you, with its buttons live (clicks go to `/_emulator/home/actions`).
import { clear, h, postJSON } from "./dom.js";
import { renderBlocks } from "./blocks.js";
import { store } from "./store.js";

export async function openAssistantThread(onOpened, onError) {
  const { status, data } = await postJSON("/_emulator/assistant/threads", { user: store.me, context_channel: store.current, team: store.teamId });
  if (status >= 400) onError(`The assistant pane did not open: ${data.error}.`);
  else onOpened({ channel: data.channel, ts: data.thread_ts, thread_ts: data.thread_ts, is_reply: false });
}

export function homePanel(baseCtx, onError) {
  const body = h("div", { class: "home-view" }, h("p", { class: "muted" }, "Opening the App Home…"));
  const el = h("div", { class: "pane-body" }, body);
  let timer = null;
  let shown = "";

  const ctx = {
    ...baseCtx,
    act: async (element, blockId, value) => {
      const { status, data } = await postJSON("/_emulator/home/actions", { user: store.me, team: store.teamId, action_id: element.action_id, value });
      if (status >= 400) onError(`That click did not reach the app: ${data.error}.`);
      else if (!data.acked) onError(`The app did not respond to that click in time (${data.error || "no ack"}).`);
    },
  };

  async function draw() {
    const response = await fetch(`/_emulator/home?user=${encodeURIComponent(store.me)}&team=${encodeURIComponent(store.teamId)}`);
    const { view } = await response.json();
    const print = JSON.stringify(view);
    if (print === shown) return;
    shown = print;
    clear(body);
    body.append(view ? renderBlocks(view.blocks, ctx) : h("p", { class: "muted" }, "The app has not published a Home tab for you yet."));
  }

  async function open() {
    shown = "";
    const { status, data } = await postJSON("/_emulator/home", { user: store.me, team: store.teamId });
    if (status >= 400) onError(`The App Home did not open: ${data.error}.`);
    await draw();
    clearInterval(timer);
    timer = setInterval(draw, 1000); // views.publish is not pushed to this page: look again
  }

  function close() {
    clearInterval(timer);
    timer = null;
  }

  return { el, open, close };
}
