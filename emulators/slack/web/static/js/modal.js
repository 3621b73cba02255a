// Modals the app opened (views.open/push/update), drawn from the emulator's open views: each
// person sees only the modals opened for them (by their own click or command), the newest on
// top, as in Slack; switching user shows that user's own. Submit
// sends a real `view_submission` through the emulator and shows the field errors the app
// answers with; Cancel closes the view in the emulator.
import { clear, h, postJSON } from "./dom.js";
import { renderBlocks } from "./blocks.js";
import { store } from "./store.js";

let shown = null; // `${id}:${hash}` of the modal on screen

function plainText(obj, fallback) {
  return obj && typeof obj.text === "string" ? obj.text : fallback;
}

// The modal on top of the current user's stack, if any.
export function myModal() {
  const mine = store.views.filter((v) => v.user === store.me);
  return mine[mine.length - 1] || null;
}

export function renderModal(root, ctx, toast) {
  const view = myModal();
  const ident = view ? `${view.id}:${view.hash}` : null;
  if (ident === shown) return;
  shown = ident;
  clear(root);
  if (!view) return;
  const form = [];
  const close = async () => {
    await postJSON(`/_sandbox/views/${encodeURIComponent(view.id)}/close`, {});
    shown = null;
    clear(root);
  };
  const submitButton = h("button", { type: "submit", class: "bk-button bk-primary modal-submit" }, plainText(view.submit, "Submit"));
  const dialog = h(
    "form",
    {
      class: "modal",
      role: "dialog",
      "aria-modal": "true",
      "data-view-id": view.id,
      onsubmit: async (event) => {
        event.preventDefault();
        submitButton.disabled = true;
        try {
          const values = {};
          for (const field of form) {
            values[field.blockId] = { ...(values[field.blockId] || {}), [field.actionId]: field.read() };
          }
          const { status, data } = await postJSON(`/_emulator/views/${encodeURIComponent(view.id)}/submit`, { user: store.me, values });
          for (const el of dialog.querySelectorAll(".bk-field-error")) el.hidden = true;
          if (status >= 400 || !data.acked) {
            toast(`The app did not accept the form (${data.error || `HTTP ${status}`}). Try again.`);
            return;
          }
          const response = data.response || {};
          if (response.response_action === "errors") {
            for (const [blockId, message] of Object.entries(response.errors || {})) {
              const el = dialog.querySelector(`.bk-field-error[data-block-id="${CSS.escape(blockId)}"]`);
              if (el) {
                el.textContent = message;
                el.hidden = false;
              } else toast(message);
            }
            return;
          }
          if (data.closed) {
            shown = null;
            clear(root);
          }
        } finally {
          submitButton.disabled = false;
        }
      },
    },
    h(
      "div",
      { class: "modal-head" },
      h("h2", {}, plainText(view.title, "")),
      h("button", { type: "button", class: "modal-x", "aria-label": "Close", onclick: close }, "×"),
    ),
    h("div", { class: "modal-body" }, renderBlocks(view.blocks, { ...ctx, form })),
    h(
      "div",
      { class: "modal-foot" },
      h("button", { type: "button", class: "bk-button modal-cancel", onclick: close }, plainText(view.close, "Cancel")),
      view.submit ? submitButton : null,
    ),
  );
  root.append(h("div", { class: "overlay" }, dialog));
  const first = dialog.querySelector("input, textarea, select");
  if (first) first.focus();
}

// Slack's confirm dialog for buttons with `confirm`.
export function confirmDialog(root, confirm, action) {
  const done = () => overlay.remove();
  const overlay = h(
    "div",
    { class: "overlay" },
    h(
      "div",
      { class: "modal confirm", role: "alertdialog" },
      h("div", { class: "modal-head" }, h("h2", {}, plainText(confirm.title, "Are you sure?"))),
      h("div", { class: "modal-body" }, plainText(confirm.text, "")),
      h(
        "div",
        { class: "modal-foot" },
        h("button", { type: "button", class: "bk-button confirm-deny", onclick: done }, plainText(confirm.deny, "Cancel")),
        h(
          "button",
          { type: "button", class: `bk-button ${confirm.style === "danger" ? "bk-danger" : "bk-primary"} confirm-ok`, onclick: () => (done(), action()) },
          plainText(confirm.confirm, "Yes"),
        ),
      ),
    ),
  );
  root.append(overlay);
}
