// The sandbox page: a Slack-like client over the Slack emulator. It draws only what the
// emulator pushes (GET /_sandbox/events) and acts only through the emulator's control API, so
// the app under test receives exactly what Slack would send it.
import { clear, h, postJSON } from "./dom.js";
import { homePanel, openAssistantThread } from "./agent.js";
import { callsPanel } from "./calls.js";
import { composer, encodeMessage, escapeTyped, splitCommand } from "./composer.js";
import { handingerPanel } from "./handinger.js";
import { showHistory } from "./history.js";
import { ephemeralNode, messageNode, noticeNode } from "./messages.js";
import { confirmDialog, renderModal } from "./modal.js";
import {
  apply, channelLabel, channelMessages, channelName, displayName, key, myChannels, myEphemeral,
  newestTs, store, threadReplies, unread, userName,
} from "./store.js";

const $ = (selector) => document.querySelector(selector);
const overlays = () => $("#overlays");
const notices = new Map(); // channel → page-local notices
let pane = null; // "thread" | "handinger" | "calls" | "home"
let nodes = new Map(); // key → node in the channel list

function toast(text) {
  const el = h("div", { class: "toast", role: "status" }, text);
  $("#toasts").append(el);
  setTimeout(() => el.remove(), 8000);
}

function notice(channel, text) {
  const list = notices.get(channel) || [];
  list.push({ ts: String(Date.now() / 1000), node: noticeNode(text) });
  notices.set(channel, list);
  if (channel === store.current) renderMessages();
}

// What blocks need: names for pills, and where a click on this message goes.
function ctxFor(channel, messageTs) {
  return {
    userName,
    channelName,
    users: () => [...store.users.values()].filter((u) => !u.is_bot).map((u) => ({ id: u.id, label: u.real_name || u.name })),
    channels: () => myChannels().map((c) => ({ id: c.id, label: channelLabel(c) })),
    confirm: (confirm, action) => confirmDialog(overlays(), confirm, action),
    act: async (element, blockId, value) => {
      const { status, data } = await postJSON("/_emulator/actions", {
        channel, message_ts: messageTs, action_id: element.action_id, user: store.me, value,
      });
      if (status >= 400) notice(channel, `That click did not reach the app: ${data.error}.`);
      else if (!data.acked) notice(channel, `The app did not respond to that click in time (${data.error || "no ack"}). Try again.`);
    },
  };
}

const messageActions = {
  onThread: (message) => openPane("thread", message),
  onHistory: (message) => showHistory(overlays(), message, ctxFor(message.channel, message.ts)),
  onShortcut: async (message, shortcut) => {
    const { status, data } = await postJSON("/_emulator/shortcuts", {
      channel: message.channel, message_ts: message.ts, user: store.me, callback_id: shortcut.callback_id,
    });
    if (status >= 400) notice(message.channel, `${shortcut.name} failed: ${data.error}.`);
    else if (!data.acked) notice(message.channel, `The app did not respond to ${shortcut.name} in time. Is the bot running?`);
  },
};

// sidebar ------------------------------------------------------------------------------------

function renderSidebar() {
  const me = $("#me");
  clear(me);
  for (const user of store.users.values()) {
    if (user.is_bot) continue;
    const modals = store.views.filter((v) => v.user === user.id).length;
    const open = modals ? ` · ${modals === 1 ? "a modal" : `${modals} modals`} open` : "";
    me.append(h("option", { value: user.id }, `${user.real_name || user.name} — ${user.is_admin ? "admin" : "member"}${open}`));
  }
  me.value = store.me;
  $("#team-name").textContent = store.team ? store.team.name : "";
  const lists = { public: $("#list-channels"), private: $("#list-channels"), im: $("#list-dms"), mpim: $("#list-dms") };
  clear($("#list-channels"));
  clear($("#list-dms"));
  for (const channel of myChannels()) {
    const count = channel.id === store.current ? 0 : unread(channel.id);
    const prefix = channel.kind === "public" ? "#" : channel.kind === "private" ? "🔒" : "●";
    lists[channel.kind].append(
      h(
        "button",
        {
          type: "button",
          class: `channel-link${channel.id === store.current ? " active" : ""}${count ? " unread" : ""}`,
          "data-channel": channel.id,
          onclick: () => switchChannel(channel.id),
        },
        h("span", { class: "prefix" }, prefix),
        " ",
        channelLabel(channel),
        count ? h("span", { class: "badge" }, String(count)) : null,
      ),
    );
  }
}

function switchChannel(id) {
  store.current = id;
  if (pane === "thread") closePane();
  renderAll();
}

// channel ------------------------------------------------------------------------------------

function nearBottom(list) {
  return list.scrollHeight - list.scrollTop - list.clientHeight < 60;
}

function items(channel) {
  const out = channelMessages(channel).map((m) => ({ key: key(channel, m.ts), ts: m.ts, node: () => messageNode(m, ctxFor(channel, m.ts), messageActions) }));
  for (const record of myEphemeral(channel, null)) {
    out.push({ key: `e${record.seq}`, ts: record.ts, node: () => ephemeralNode(record, ctxFor(channel, record.ts)) });
  }
  for (const [index, n] of (notices.get(channel) || []).entries()) out.push({ key: `n${index}`, ts: n.ts, node: () => n.node });
  return out.sort((a, b) => parseFloat(a.ts) - parseFloat(b.ts));
}

function renderMessages() {
  const list = $("#messages");
  clear(list);
  nodes = new Map();
  const channel = store.channels.get(store.current);
  if (!channel) return;
  for (const item of items(store.current)) {
    const node = item.node();
    node.dataset.sort = item.ts;
    nodes.set(item.key, node);
    list.append(node);
  }
  if (!nodes.size) list.append(h("div", { class: "empty" }, "No messages yet. Try /handinger followed by an instruction."));
  list.scrollTop = list.scrollHeight;
  store.lastRead.set(store.current, newestTs(store.current));
}

// Put one item in place; callers read the scroll position once before and scroll once after
// a whole update (reading layout between DOM writes would lay the page out per message).
function upsert(itemKey, ts, make) {
  const list = $("#messages");
  const node = make();
  node.dataset.sort = ts;
  const old = nodes.get(itemKey);
  if (old) old.replaceWith(node);
  else {
    list.querySelector(".empty")?.remove();
    const after = [...list.children].find((n) => parseFloat(n.dataset.sort) > parseFloat(ts));
    list.insertBefore(node, after || null);
  }
  nodes.set(itemKey, node);
}

function renderHeader() {
  const channel = store.channels.get(store.current);
  const title = $("#channel-title");
  clear(title);
  if (!channel) return;
  const prefix = channel.kind === "public" ? "#" : channel.kind === "private" ? "🔒 " : "";
  title.append(prefix + channelLabel(channel), h("span", { class: "muted members" }, ` · ${channel.members.length} members`));
  const inChannel = channel.members.includes(store.botUser);
  composerMain.box.placeholder = inChannel ? `Message ${prefix}${channelLabel(channel)} — try /handinger` : `Message ${prefix}${channelLabel(channel)} (Handinger is not in this channel)`;
}

// thread and tool panes ----------------------------------------------------------------------

const threadBody = h("div", { class: "thread-messages" });
const composerThread = composer({ placeholder: "Reply…", inThread: true, send: (raw, files) => sendText(raw, store.thread, files) });
const threadEl = h("div", { class: "pane-body thread-panel" }, threadBody, composerThread.el);
let handinger = null;
const calls = callsPanel();
const home = homePanel(ctxFor(null, null), (text) => toast(text));

function renderThread() {
  const follow = !threadBody.childElementCount || nearBottom(threadBody);
  clear(threadBody);
  const root = store.messages.get(key(store.current, store.thread));
  if (!root) return;
  const ctx = (ts) => ctxFor(store.current, ts);
  threadBody.append(messageNode(root, ctx(root.ts), messageActions, true));
  const replies = threadReplies(store.current, root.ts);
  threadBody.append(h("div", { class: "reply-divider" }, `${replies.length} ${replies.length === 1 ? "reply" : "replies"}`));
  const entries = replies.map((m) => ({ ts: m.ts, node: messageNode(m, ctx(m.ts), messageActions, true) }));
  for (const record of myEphemeral(store.current, root.ts)) entries.push({ ts: record.ts, node: ephemeralNode(record, ctx(record.ts)) });
  entries.sort((a, b) => parseFloat(a.ts) - parseFloat(b.ts));
  threadBody.append(...entries.map((e) => e.node));
  if (follow) threadBody.scrollTop = threadBody.scrollHeight;
}

function openPane(kind, message) {
  if (pane === "home" && kind !== "home") home.close();
  pane = kind;
  const el = $("#pane");
  el.hidden = false;
  const body = $("#pane-body");
  clear(body);
  if (kind === "thread") {
    store.current = message.channel;
    store.thread = message.thread_ts && message.is_reply ? message.thread_ts : message.ts;
    $("#pane-title").textContent = `Thread · ${channelName(message.channel)}`;
    body.append(threadEl);
    renderAll(false);
    renderThread();
    composerThread.box.focus();
  } else if (kind === "home") {
    $("#pane-title").textContent = "Handinger · Home";
    body.append(home.el);
    home.open();
  } else if (kind === "handinger") {
    $("#pane-title").textContent = "Handinger";
    body.append(handinger.el);
    handinger.refresh(true);
  } else {
    $("#pane-title").textContent = "Web API calls";
    body.append(calls.el);
    calls.draw();
  }
}

function closePane() {
  if (pane === "home") home.close();
  pane = null;
  store.thread = null;
  $("#pane").hidden = true;
}

// sending ------------------------------------------------------------------------------------

async function sendSlash(command, text) {
  const channel = store.current;
  const body = { channel, user: store.me, command, text: escapeTyped(text) };
  const { status, data } = await postJSON("/_emulator/slash", body);
  if (status >= 400) {
    notice(channel, `${command} failed: ${data.error}${data.error === "user_not_in_channel" ? " (you are not in this channel)" : ""}.`);
  } else if (!data.acked) {
    notice(channel, `${command} failed with the error "operation_timeout": the app did not acknowledge within 3 seconds. Is the bot running?`);
  }
  return status < 400;
}

async function sendText(raw, threadTs, files = []) {
  const parsed = files.length ? null : splitCommand(raw);
  if (parsed && !/^\/\//.test(raw)) {
    if (threadTs) {
      toast(`${parsed.command} is not supported in threads. Sorry! Use it in the channel instead.`);
      return false;
    }
    if (!store.commands.some((c) => c.command === parsed.command)) {
      toast(`${parsed.command} is not a valid command. In Slack, all messages that start with "/" are interpreted as commands.`);
      return false;
    }
    return sendSlash(parsed.command, parsed.text);
  }
  const body = { channel: store.current, user: store.me, text: encodeMessage(raw) };
  if (threadTs) body.thread_ts = threadTs;
  if (files.length) body.files = files;
  const { status, data } = await postJSON("/_emulator/messages", body);
  if (status >= 400) {
    toast(`Your message was not sent: ${data.error}.`);
    return false;
  }
  return true;
}

const composerMain = composer({ placeholder: "Message", inThread: false, send: (raw, files) => sendText(raw, null, files) });

// live updates -------------------------------------------------------------------------------

function renderAll(withThread = true) {
  renderSidebar();
  renderHeader();
  renderMessages();
  if (withThread && pane === "thread") renderThread();
}

function onUpdate(delta) {
  const changed = apply(delta);
  if (changed.full || changed.directory) {
    if (!store.channels.has(store.current) || !myChannels().some((c) => c.id === store.current)) store.current = "C0001";
    renderAll();
  } else {
    const list = $("#messages");
    const follow = nearBottom(list);
    let sidebar = false;
    let thread = false;
    for (const message of changed.messages) {
      if (message.channel !== store.current) {
        sidebar = sidebar || (!message.is_reply && message.user !== store.me);
        continue;
      }
      if (!message.is_reply) upsert(key(message.channel, message.ts), message.ts, () => messageNode(message, ctxFor(message.channel, message.ts), messageActions));
      if (pane === "thread" && (message.ts === store.thread || message.thread_ts === store.thread)) thread = true;
    }
    for (const record of changed.ephemeral) {
      if (record.user !== store.me || record.channel !== store.current) continue;
      const inThread = record.thread_ts && record.thread_ts !== record.ts;
      if (!inThread) {
        if (record.deleted) renderMessages();
        else upsert(`e${record.seq}`, record.ts, () => ephemeralNode(record, ctxFor(record.channel, record.ts)));
      } else if (pane === "thread" && record.thread_ts === store.thread) thread = true;
      else if (!record.deleted) {
        // A private answer in a thread (e.g. to a click on a card) is shown where it was put.
        const root = store.messages.get(key(record.channel, record.thread_ts));
        if (root) openPane("thread", root);
      }
    }
    if (follow) list.scrollTop = list.scrollHeight;
    store.lastRead.set(store.current, newestTs(store.current));
    if (sidebar) renderSidebar();
    if (thread) renderThread();
  }
  if (changed.views) {
    renderModal(overlays(), ctxFor(store.current, null), toast);
    renderSidebar(); // the switcher says who has a modal open
  }
  if (pane === "calls" && changed.calls) calls.draw();
  if (pane === "handinger") handinger.refresh();
}

function connect() {
  const status = $("#connection");
  const source = new EventSource(`/_sandbox/events?team=${encodeURIComponent(store.teamId)}`);
  source.addEventListener("open", () => {
    status.textContent = "● live";
    status.className = "live";
  });
  source.addEventListener("error", () => {
    status.textContent = "○ reconnecting to the emulator…";
    status.className = "down";
  });
  source.addEventListener("update", (event) => onUpdate(JSON.parse(event.data)));
  window.sandbox = { store, source };
}

async function main() {
  const setup = await (await fetch("/_sandbox/setup")).json();
  store.teamId = setup.team;
  store.commands = setup.commands;
  store.shortcuts = setup.shortcuts || [];
  store.handinger = setup.handinger;
  handinger = handingerPanel({
    openThread: (message) => openPane("thread", message),
    sendCommand: (example) => {
      const channel = store.channels.get(store.current);
      if (channel && !channel.members.includes(store.botUser)) store.current = "C0001";
      renderAll();
      sendSlash("/handinger", example);
    },
  });
  $("#composer-slot").append(composerMain.el);
  $("#me").addEventListener("change", (event) => {
    store.me = event.target.value;
    if (!myChannels().some((c) => c.id === store.current)) store.current = "C0001";
    closePane();
    renderAll();
    renderModal(overlays(), ctxFor(store.current, null), toast);
    toast(`You are now ${displayName(store.me)}.`);
  });
  $("#open-handinger").hidden = !store.handinger;
  $("#open-handinger").addEventListener("click", () => (pane === "handinger" ? closePane() : openPane("handinger")));
  $("#open-calls").addEventListener("click", () => (pane === "calls" ? closePane() : openPane("calls")));
  $("#open-home").addEventListener("click", () => (pane === "home" ? closePane() : openPane("home")));
  $("#open-assistant").addEventListener("click", () =>
    openAssistantThread((root) => openPane("thread", root), (text) => toast(text)),
  );
  $("#pane-close").addEventListener("click", closePane);
  document.addEventListener("click", () => document.querySelectorAll(".menu").forEach((m) => (m.hidden = true)));
  connect();
  composerMain.box.focus();
}

main();
