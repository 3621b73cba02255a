// The message box: plain messages, @mentions (turned into <@U…> as Slack clients do), DMs,
// attached files (📎, sent as a `file_share` message) and, outside threads, slash commands with
// the manifest's usage hint, like Slack's autocomplete.
import { h, clear } from "./dom.js";
import { store } from "./store.js";

// Slack escapes &, < and > in what people type, in messages and slash commands alike.
export function escapeTyped(raw) {
  return raw.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

// What Slack clients put in a message's `text`: escaped, @name mentions as <@ID>.
export function encodeMessage(raw) {
  return escapeTyped(raw).replace(/(^|[\s(])@([\w.-]+)/g, (whole, before, name) => {
    const wanted = name.toLowerCase();
    for (const user of store.users.values()) {
      if (user.name.toLowerCase() === wanted || (user.real_name || "").toLowerCase() === wanted) {
        return `${before}<@${user.id}>`;
      }
    }
    return whole;
  });
}

export function splitCommand(raw) {
  const match = /^(\/\S+)\s*([\s\S]*)$/.exec(raw.trim());
  return match ? { command: match[1], text: match[2] } : null;
}

// A picked file as the control API takes it: name, type and bytes in base64.
function readFile(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve({ name: file.name, mimetype: file.type || undefined, base64: String(reader.result).split(",", 2)[1] || "" });
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

// `send(raw, files)` does the sending and resolves to true when the box may be cleared.
export function composer({ placeholder, inThread, send }) {
  const hint = h("div", { class: "composer-hint", hidden: true });
  const box = h("textarea", { class: "composer-input", rows: 1, placeholder, "aria-label": placeholder });
  const button = h("button", { type: "button", class: "composer-send", title: "Send" }, "➤");
  const picker = h("input", { type: "file", multiple: true, hidden: true, class: "composer-files" });
  const attach = h("button", { type: "button", class: "composer-attach", title: "Attach files" }, "📎");
  const chosen = h("div", { class: "composer-chosen", hidden: true });
  attach.addEventListener("click", () => picker.click());
  picker.addEventListener("change", () => {
    clear(chosen);
    const names = [...picker.files].map((f) => f.name);
    chosen.hidden = names.length === 0;
    for (const name of names) chosen.append(h("span", { class: "file-chip" }, `📄 ${name}`));
  });

  function matching() {
    const value = box.value;
    if (inThread || !value.startsWith("/")) return [];
    const typed = value.split(/\s/, 1)[0];
    const complete = /\s/.test(value);
    return store.commands.filter((c) => (complete ? c.command === typed : c.command.startsWith(typed)));
  }

  function showHint() {
    const found = matching();
    clear(hint);
    hint.hidden = found.length === 0;
    for (const c of found) {
      hint.append(
        h(
          "button",
          {
            type: "button",
            class: "hint-item",
            onclick: () => {
              box.value = `${c.command} `;
              box.focus();
              showHint();
            },
          },
          h("span", { class: "hint-command" }, c.command),
          " ",
          h("span", { class: "hint-usage" }, c.usage_hint),
          h("div", { class: "hint-description" }, c.description),
        ),
      );
    }
  }

  async function submit() {
    const raw = box.value;
    const picked = [...picker.files];
    if (!raw.trim() && !picked.length) return;
    button.disabled = true;
    try {
      const files = await Promise.all(picked.map(readFile));
      if (await send(raw, files)) {
        box.value = "";
        picker.value = "";
        clear(chosen);
        chosen.hidden = true;
        showHint();
      }
    } finally {
      button.disabled = false;
      box.focus();
    }
  }

  box.addEventListener("input", showHint);
  box.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      submit();
    } else if (event.key === "Tab" && !hint.hidden) {
      const [first] = matching();
      if (first && !box.value.includes(" ")) {
        event.preventDefault();
        box.value = `${first.command} `;
        showHint();
      }
    }
  });
  button.addEventListener("click", submit);
  const el = h("div", { class: "composer" }, hint, chosen, h("div", { class: "composer-row" }, attach, picker, box, button));
  return { el, box, setValue: (text) => ((box.value = text), showHint(), box.focus()) };
}
