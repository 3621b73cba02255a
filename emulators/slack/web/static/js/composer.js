// The message box: plain messages, @mentions (turned into <@U…> as Slack clients do), DMs and,
// outside threads, slash commands with the manifest's usage hint, like Slack's autocomplete.
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

// `send(raw)` does the sending and resolves to true when the box may be cleared.
export function composer({ placeholder, inThread, send }) {
  const hint = h("div", { class: "composer-hint", hidden: true });
  const box = h("textarea", { class: "composer-input", rows: 1, placeholder, "aria-label": placeholder });
  const button = h("button", { type: "button", class: "composer-send", title: "Send" }, "➤");

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
    if (!raw.trim()) return;
    button.disabled = true;
    try {
      if (await send(raw)) {
        box.value = "";
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
  const el = h("div", { class: "composer" }, hint, h("div", { class: "composer-row" }, box, button));
  return { el, box, setValue: (text) => ((box.value = text), showHint(), box.focus()) };
}
