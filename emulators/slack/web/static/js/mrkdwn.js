// Slack's mrkdwn as Slack draws it: *bold*, _italic_, ~strike~, `code`, ```blocks```, > quotes,
// <url|label> links, <@U…> and <#C…> pills, <!here>, <!date^…>, :emoji: and &lt; &gt; &amp;.
// Output is DOM built from text nodes; nothing from the text is ever parsed as HTML.
import { emoji } from "./emoji.js";
import { fragment, h, safeLink } from "./dom.js";

const INLINE = new RegExp(
  [
    "(`[^`\\n]+`)", // 1 code
    "<([^<>\\n]+)>", // 2 token
    "(?<![\\p{L}\\p{N}*])\\*(?=\\S)([^*\\n]*?\\S)\\*(?![\\p{L}\\p{N}*])", // 3 bold
    "(?<![\\p{L}\\p{N}_])_(?=\\S)([^_\\n]*?\\S)_(?![\\p{L}\\p{N}_])", // 4 italic
    "(?<![\\p{L}\\p{N}~])~(?=\\S)([^~\\n]*?\\S)~(?![\\p{L}\\p{N}~])", // 5 strike
    ":([a-z0-9_+\\-]+):", // 6 emoji
  ].join("|"),
  "gu",
);
const SCHEME = /^[a-z][a-z0-9+.-]*:/i;

export function decodeEntities(text) {
  return text.replace(/&(lt|gt|amp);/g, (_, name) => ({ lt: "<", gt: ">", amp: "&" })[name]);
}

function pill(kind, label, title) {
  return h("span", { class: `pill pill-${kind}`, title }, label);
}

export function dateToken(rest) {
  // !date^<unix>^<format>[^link]|<fallback>
  const [spec, fallback] = splitLabel(rest);
  const stamp = Number(spec.split("^")[1]);
  if (!Number.isFinite(stamp)) return fallback || spec;
  const date = new Date(stamp * 1000);
  return date.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

function splitLabel(content) {
  const bar = content.indexOf("|");
  return bar < 0 ? [content, ""] : [content.slice(0, bar), content.slice(bar + 1)];
}

function token(content, ctx) {
  const [target, label] = splitLabel(content);
  if (target.startsWith("@")) {
    const id = target.slice(1);
    return pill("user", `@${ctx.userName(id) || decodeEntities(label) || id}`, id);
  }
  if (target.startsWith("#")) {
    const id = target.slice(1);
    return pill("channel", `#${ctx.channelName(id) || decodeEntities(label) || id}`, id);
  }
  if (target.startsWith("!")) {
    const name = target.slice(1);
    if (["here", "channel", "everyone"].includes(name)) return pill("broadcast", `@${name}`);
    if (name.startsWith("subteam^")) return pill("user", decodeEntities(label) || "@group");
    if (name.startsWith("date^")) return h("time", {}, dateToken(content.slice(1)));
    return decodeEntities(label || `<${content}>`);
  }
  if (SCHEME.test(target)) {
    const url = decodeEntities(target);
    return safeLink(url, decodeEntities(label) || url);
  }
  return decodeEntities(`<${content}>`);
}

export function inline(text, ctx) {
  const out = [];
  let last = 0;
  INLINE.lastIndex = 0;
  for (const match of text.matchAll(INLINE)) {
    if (match.index > last) out.push(decodeEntities(text.slice(last, match.index)));
    const [whole, code, tok, bold, italic, strike, name] = match;
    if (code) out.push(h("code", {}, decodeEntities(code.slice(1, -1))));
    else if (tok !== undefined) out.push(token(tok, ctx));
    else if (whole.startsWith("*")) out.push(h("b", {}, inline(bold || "", ctx)));
    else if (whole.startsWith("_")) out.push(h("i", {}, inline(italic || "", ctx)));
    else if (whole.startsWith("~")) out.push(h("s", {}, inline(strike || "", ctx)));
    else if (name) out.push(emoji(name));
    last = match.index + whole.length;
  }
  if (last < text.length) out.push(decodeEntities(text.slice(last)));
  return out;
}

function lines(text, ctx) {
  const out = [];
  let quote = null;
  const rows = text.split("\n");
  rows.forEach((row, index) => {
    const quoted = /^(&gt;|>) ?/.exec(row);
    if (quoted) {
      if (!quote) {
        quote = h("blockquote");
        out.push(quote);
      } else quote.append(h("br"));
      quote.append(...inline(row.slice(quoted[0].length), ctx));
      return;
    }
    quote = null;
    out.push(...inline(row, ctx));
    if (index < rows.length - 1 && !/^(&gt;|>) ?/.test(rows[index + 1] || "")) out.push(h("br"));
  });
  return out;
}

export function mrkdwn(text, ctx) {
  const parts = String(text ?? "").split("```");
  const out = [];
  parts.forEach((part, index) => {
    if (index % 2 === 1 && index < parts.length - 1) {
      out.push(h("pre", {}, decodeEntities(part.replace(/^\n/, ""))));
    } else {
      const body = index % 2 === 1 ? "```" + part : part;
      out.push(...lines(body, ctx));
    }
  });
  return fragment(out);
}

export function plain(text, ctx, withEmoji = true) {
  const value = decodeEntities(String(text ?? ""));
  if (!withEmoji) return fragment(value);
  return fragment(value.split(/(:[a-z0-9_+\-]+:)/g).map((p, i) => (i % 2 ? emoji(p.slice(1, -1)) : p)));
}
