// A message's edit history: every version the emulator stored, when and by which call.
import { h } from "./dom.js";
import { renderBlocks } from "./blocks.js";
import { mrkdwn } from "./mrkdwn.js";

export async function showHistory(root, message, ctx) {
  const response = await fetch(`/_sandbox/history/${encodeURIComponent(message.channel)}/${encodeURIComponent(message.ts)}`);
  const data = await response.json();
  const close = () => overlay.remove();
  const readOnly = { ...ctx, act: () => {}, confirm: null };
  let previous = null;
  const versions = (data.versions || []).map((v, index) => {
    const gap = previous === null ? "" : ` (+${(v.after - previous).toFixed(2)} s)`;
    previous = v.after;
    return h(
      "div",
      { class: "version" },
      h("div", { class: "version-head" }, h("b", {}, index === 0 ? "Original" : `Edit ${index}`), ` · ${v.after.toFixed(2)} s${gap} · ${v.source}`),
      v.blocks && v.blocks.length ? renderBlocks(v.blocks, readOnly) : h("div", { class: "text" }, mrkdwn(v.text, readOnly)),
    );
  });
  const overlay = h(
    "div",
    { class: "overlay", onclick: (e) => e.target === overlay && close() },
    h(
      "div",
      { class: "modal history", role: "dialog" },
      h("div", { class: "modal-head" }, h("h2", {}, `Edit history · ${versions.length} versions`), h("button", { type: "button", class: "modal-x", onclick: close }, "×")),
      h("div", { class: "modal-body" }, versions),
    ),
  );
  root.append(overlay);
}
