// One message as Slack draws it: avatar, name (APP badge for the bot), time, "(edited)", the
// blocks (or the mrkdwn text when there are none), attachments, files, reactions and the
// thread summary; ephemeral messages carry "Only visible to you".
import { emoji } from "./emoji.js";
import { h, safeLink, sameOrigin, sizeOf, timeOf } from "./dom.js";
import { renderBlocks } from "./blocks.js";
import { markdown } from "./markdown.js";
import { mrkdwn } from "./mrkdwn.js";
import { displayName, store } from "./store.js";

const COLORS = ["#e01e5a", "#2eb67d", "#ecb22e", "#36c5f0", "#4a154b", "#1264a3"];

function avatar(userId, isBot) {
  const name = isBot ? "Handinger" : displayName(userId);
  const color = isBot ? "#1d2b3a" : COLORS[[...userId].reduce((a, c) => a + c.charCodeAt(0), 0) % COLORS.length];
  const el = h("div", { class: "avatar", "aria-hidden": "true" }, isBot ? "H" : name.slice(0, 1).toUpperCase());
  el.style.background = color;
  return el;
}

function files(list) {
  return h(
    "div",
    { class: "files" },
    list.map((file) => {
      const preview =
        file.mimetype && file.mimetype.startsWith("image/") && sameOrigin(file.download_url)
          ? h("img", { class: "file-preview", src: file.download_url, alt: file.alt_txt || file.title || file.name })
          : null;
      return h(
        "div",
        { class: "file", "data-file-id": file.id },
        preview,
        h(
          "div",
          { class: "file-meta" },
          h("span", { class: "file-icon" }, "📄"),
          h("span", { class: "file-title" }, file.title || file.name),
          h("span", { class: "file-size" }, `${(file.filetype || "").toUpperCase()} · ${sizeOf(file.size || 0)}`),
          h("a", { class: "file-download", href: file.download_url, download: file.name }, "Download"),
        ),
      );
    }),
  );
}

function attachments(list, ctx) {
  return (list || []).map((att) => {
    const bar = h("div", { class: "attachment" });
    if (att.color) bar.style.borderLeftColor = /^#?[0-9a-f]{3,8}$/i.test(att.color) ? (att.color.startsWith("#") ? att.color : `#${att.color}`) : "#ddd";
    if (att.pretext) bar.append(h("div", {}, mrkdwn(att.pretext, ctx)));
    if (att.title) bar.append(h("div", { class: "att-title" }, att.title_link ? safeLink(att.title_link, att.title) : att.title));
    if (att.blocks) bar.append(renderBlocks(att.blocks, ctx));
    else if (att.text) bar.append(h("div", {}, mrkdwn(att.text, ctx)));
    for (const field of att.fields || []) bar.append(h("div", { class: "att-field" }, h("b", {}, field.title || ""), " ", mrkdwn(field.value || "", ctx)));
    return bar;
  });
}

function reactions(list) {
  return h(
    "div",
    { class: "reactions" },
    list.map((r) =>
      h(
        "span",
        { class: `reaction${r.users.includes(store.me) ? " mine" : ""}`, title: r.users.map(displayName).join(", "), "data-name": r.name },
        emoji(r.name),
        " ",
        String(r.count),
      ),
    ),
  );
}

const TASK_ICONS = { pending: "○", in_progress: "◌", complete: "✓", error: "✗" };

// A streamed message: its task timeline, its markdown text, then the blocks it was closed with.
function streamed(message, ctx) {
  const tasks = (message.tasks || []).map((t) =>
    h("li", { class: `task task-${t.status}` }, `${TASK_ICONS[t.status] || "·"} ${t.title || ""}`),
  );
  return h(
    "div",
    { class: "streamed" },
    tasks.length ? h("ul", { class: "task-timeline" }, tasks) : null,
    h("div", { class: "bk-markdown" }, markdown(message.text || "")),
    message.blocks && message.blocks.length ? renderBlocks(message.blocks, ctx) : null,
  );
}

function body(message, ctx) {
  if (message.stream_state) return streamed(message, ctx);
  if (message.blocks && message.blocks.length) return renderBlocks(message.blocks, ctx);
  return h("div", { class: "text" }, mrkdwn(message.text || "", ctx));
}

// A channel or thread message. `actions` has onThread(message) and onHistory(message).
export function messageNode(message, ctx, actions, inThread = false) {
  const isBot = Boolean(message.bot_id);
  const name = isBot ? message.username || "Handinger" : displayName(message.user);
  const node = h("div", {
    class: `msg${isBot ? " from-bot" : ""}${message.deleted ? " deleted" : ""}`,
    "data-ts": message.ts,
    "data-channel": message.channel,
    "data-author": isBot ? "bot" : message.user,
  });
  if (message.deleted) {
    node.append(h("div", { class: "msg-main" }, h("div", { class: "tombstone" }, "This message was deleted.")));
    return node;
  }
  const head = h(
    "div",
    { class: "msg-head" },
    h("span", { class: "name" }, name),
    isBot ? h("span", { class: "app-badge" }, "APP") : null,
    h("span", { class: "time", title: message.ts }, timeOf(message.ts)),
    message.edited
      ? h("button", { class: "edited", type: "button", title: "Show the edit history", onclick: () => actions.onHistory(message) }, `(edited${message.edits > 1 ? ` ×${message.edits}` : ""})`)
      : null,
    message.stream_state === "streaming" ? h("span", { class: "streaming" }, "streaming…") : null,
  );
  const main = h("div", { class: "msg-main" }, head, body(message, ctx), attachments(message.attachments, ctx));
  if (message.files && message.files.length) main.append(files(message.files));
  if (message.reactions && message.reactions.length) main.append(reactions(message.reactions));
  if (message.assistant_status) main.append(h("div", { class: "assistant-status" }, `Handinger ${message.assistant_status}`));
  if (!inThread && message.reply_count > 0) {
    main.append(
      h(
        "button",
        { class: "thread-summary", type: "button", onclick: () => actions.onThread(message) },
        h("span", { class: "reply-avatars" }, message.reply_users.slice(0, 4).map((u) => avatar(u, u === store.botUser))),
        h("span", { class: "reply-count" }, `${message.reply_count} ${message.reply_count === 1 ? "reply" : "replies"}`),
        message.latest_reply ? h("span", { class: "last-reply" }, `Last reply ${timeOf(message.latest_reply)}`) : null,
      ),
    );
  }
  const tools = h(
    "div",
    { class: "msg-tools" },
    inThread ? null : h("button", { type: "button", class: "tool-reply", title: "Reply in thread", onclick: () => actions.onThread(message) }, "💬"),
    message.edits > 0 ? h("button", { type: "button", class: "tool-history", title: "Edit history", onclick: () => actions.onHistory(message) }, "🕘") : null,
    store.shortcuts.length ? shortcutTool(message, actions) : null,
  );
  node.append(avatar(message.user, isBot), main, tools);
  return node;
}

// A message's shortcuts (the app's `message` shortcuts from its manifest), as Slack's ⋯ menu.
function shortcutTool(message, actions) {
  const menu = h(
    "div",
    { class: "menu shortcut-menu", hidden: true },
    store.shortcuts.map((s) =>
      h("button", { type: "button", class: "menu-item", "data-callback": s.callback_id, onclick: () => actions.onShortcut(message, s) }, s.name),
    ),
  );
  const button = h("button", {
    type: "button",
    class: "tool-shortcut",
    title: "More actions",
    onclick: (event) => {
      event.stopPropagation();
      document.querySelectorAll(".menu").forEach((m) => m !== menu && (m.hidden = true));
      menu.hidden = !menu.hidden;
    },
  }, "⚡");
  return h("span", { class: "tool-wrap" }, button, menu);
}

export function ephemeralNode(record, ctx) {
  const node = h("div", { class: "msg ephemeral from-bot", "data-ts": record.ts, "data-ephemeral": String(record.seq) });
  const head = h(
    "div",
    { class: "msg-head" },
    h("span", { class: "name" }, "Handinger"),
    h("span", { class: "app-badge" }, "APP"),
    h("span", { class: "time" }, timeOf(record.ts)),
  );
  const content = record.blocks && record.blocks.length ? renderBlocks(record.blocks, ctx) : h("div", { class: "text" }, mrkdwn(record.text || "", ctx));
  node.append(
    avatar(store.botUser || "U0BOT", true),
    h("div", { class: "msg-main" }, h("div", { class: "only-you" }, "👁 Only visible to you"), head, content, attachments(record.attachments, ctx)),
  );
  return node;
}

// A notice from the page itself (a command the app did not acknowledge, a refused post).
export function noticeNode(text) {
  return h("div", { class: "msg notice" }, h("div", { class: "msg-main" }, h("div", { class: "only-you" }, "👁 Only visible to you · from this page"), h("div", { class: "text" }, text)));
}
