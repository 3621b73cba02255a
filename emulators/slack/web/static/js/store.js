// What the page was last sent by the emulator (never more): the workspace directory, messages,
// ephemeral messages, Web API calls, rate-limit levels and open modals; plus what the person
// at the page chose (who they are, which channel and thread they look at, what they have read).

export const store = {
  team: null,
  botUser: null,
  users: new Map(),
  channels: new Map(),
  messages: new Map(), // `${channel}/${ts}` → message
  ephemeral: new Map(), // seq → record
  calls: [],
  limits: [],
  views: [],
  me: "U0001",
  current: "C0001",
  thread: null, // ts of the open thread's root, in `current`
  lastRead: new Map(), // channel → newest ts seen
  commands: [],
  shortcuts: [],
  handinger: false,
  stats: { frames: 0, messages: 0, lastLatencyMs: 0 },
};

export const key = (channel, ts) => `${channel}/${ts}`;
const CALLS_KEPT = 1000;

// Apply one pushed update; returns what changed, for the views to redraw just that.
export function apply(delta) {
  const changed = { directory: false, messages: [], ephemeral: [], calls: false, views: false, full: false };
  if (delta.full) {
    store.messages.clear();
    store.ephemeral.clear();
    store.calls = [];
    store.limits = [];
    store.views = [];
    changed.full = true;
  }
  if (delta.directory) {
    const d = delta.directory;
    store.team = d.team;
    store.botUser = d.bot_user;
    store.users = new Map(d.users.map((u) => [u.id, u]));
    store.channels = new Map(d.channels.map((c) => [c.id, c]));
    changed.directory = true;
  }
  for (const message of delta.messages || []) {
    store.messages.set(key(message.channel, message.ts), message);
    changed.messages.push(message);
  }
  for (const record of delta.ephemeral || []) {
    store.ephemeral.set(record.seq, record);
    changed.ephemeral.push(record);
  }
  if (delta.calls) {
    store.calls = store.calls.concat(delta.calls).slice(-CALLS_KEPT);
    store.limits = delta.limits || store.limits;
    changed.calls = true;
  }
  if (delta.views) {
    store.views = delta.views;
    changed.views = true;
  }
  if (changed.full) {
    for (const channel of store.channels.keys()) store.lastRead.set(channel, newestTs(channel));
  }
  store.stats.frames += 1;
  store.stats.messages += changed.messages.length;
  if (delta.sent_at) store.stats.lastLatencyMs = Date.now() - delta.sent_at * 1000;
  return changed;
}

export function userName(id) {
  const user = store.users.get(id);
  return user ? user.name : null;
}

export function displayName(id) {
  const user = store.users.get(id);
  return user ? user.real_name || user.name : id;
}

export function channelLabel(channel) {
  if (channel.kind === "im") {
    const other = channel.members.find((m) => m !== store.me) || channel.members[0];
    return displayName(other);
  }
  return channel.name;
}

export function channelName(id) {
  const channel = store.channels.get(id);
  return channel ? channelLabel(channel) : null;
}

// Top-level messages of a channel (replies live in threads), oldest first.
export function channelMessages(channel) {
  const out = [];
  for (const message of store.messages.values()) {
    if (message.channel === channel && !message.is_reply) out.push(message);
  }
  return out.sort((a, b) => parseFloat(a.ts) - parseFloat(b.ts));
}

export function threadReplies(channel, rootTs) {
  const out = [];
  for (const message of store.messages.values()) {
    if (message.channel === channel && message.is_reply && message.thread_ts === rootTs) out.push(message);
  }
  return out.sort((a, b) => parseFloat(a.ts) - parseFloat(b.ts));
}

// Ephemeral messages only the current user sees, in a channel (thread: null) or a thread.
export function myEphemeral(channel, threadTs) {
  const out = [];
  for (const record of store.ephemeral.values()) {
    if (record.deleted || record.user !== store.me || record.channel !== channel) continue;
    const inThread = record.thread_ts && record.thread_ts !== record.ts ? record.thread_ts : null;
    if ((threadTs || null) === inThread) out.push(record);
  }
  return out;
}

export function newestTs(channel) {
  let newest = "0";
  for (const message of store.messages.values()) {
    if (message.channel === channel && !message.is_reply && parseFloat(message.ts) > parseFloat(newest)) {
      newest = message.ts;
    }
  }
  return newest;
}

export function unread(channel) {
  const seen = parseFloat(store.lastRead.get(channel) || "0");
  let count = 0;
  for (const message of store.messages.values()) {
    if (
      message.channel === channel &&
      !message.is_reply &&
      message.user !== store.me &&
      parseFloat(message.ts) > seen
    ) {
      count += 1;
    }
  }
  return count;
}

export function myChannels() {
  return [...store.channels.values()].filter((c) => c.members.includes(store.me));
}
