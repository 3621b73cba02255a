// The rich_text block as Slack draws it: sections, bulleted and numbered lists (nested by
// `indent`, numbered from `offset`, bullets and numbers changing style with depth), quotes and
// preformatted text (with or without `border`), and inline text, links, mentions, broadcasts,
// emoji, dates and colours with their styles. Everything lands in text nodes.
import { emoji } from "./emoji.js";
import { h, safeLink } from "./dom.js";
import { dateToken } from "./mrkdwn.js";

const BULLETS = ["disc", "circle", "square"];
const NUMBERS = ["decimal", "lower-alpha", "lower-roman"];

function unicode(item) {
  try {
    return String.fromCodePoint(...item.unicode.split("-").map((c) => parseInt(c, 16)));
  } catch {
    return emoji(item.name);
  }
}

function one(item, ctx) {
  switch (item.type) {
    case "text":
      return document.createTextNode(item.text || "");
    case "link":
      return safeLink(item.url || "", item.text || item.url || "");
    case "user":
      return h("span", { class: "pill pill-user" }, `@${ctx.userName(item.user_id) || item.user_id}`);
    case "usergroup":
      return h("span", { class: "pill pill-user" }, `@${item.usergroup_id || "group"}`);
    case "channel":
      return h("span", { class: "pill pill-channel" }, `#${ctx.channelName(item.channel_id) || item.channel_id}`);
    case "broadcast":
      return h("span", { class: "pill pill-broadcast" }, `@${item.range}`);
    case "emoji":
      return document.createTextNode(item.unicode ? unicode(item) : emoji(item.name));
    case "date":
      return h("time", {}, dateToken(`date^${item.timestamp}^x|${item.fallback || ""}`));
    case "color": {
      const swatch = h("span", { class: "rt-swatch" });
      if (/^#[0-9a-f]{3,8}$/i.test(item.value || "")) swatch.style.background = item.value;
      return h("span", { class: "rt-color" }, swatch, item.value || "");
    }
    default:
      return document.createTextNode(item.text || "");
  }
}

function inline(items, ctx) {
  return (items || []).map((item) => {
    let node = one(item, ctx);
    const style = item.style || {};
    if (style.code) node = h("code", {}, node);
    if (style.bold) node = h("b", {}, node);
    if (style.italic) node = h("i", {}, node);
    if (style.strike) node = h("s", {}, node);
    if (style.underline) node = h("u", {}, node);
    return node;
  });
}

function list(part, ctx) {
  const ordered = part.style === "ordered";
  const depth = part.indent || 0;
  const el = h(ordered ? "ol" : "ul", { class: `rt-list${part.border ? " rt-border" : ""}`, start: ordered && part.offset ? part.offset + 1 : undefined });
  el.style.marginLeft = `${depth * 1.4}em`;
  el.style.listStyleType = (ordered ? NUMBERS : BULLETS)[depth % 3];
  for (const item of part.elements || []) el.append(h("li", {}, inline(item.elements, ctx)));
  return el;
}

export function richText(block, ctx) {
  const out = h("div", { class: "bk-rich-text" });
  for (const part of block.elements || []) {
    const border = part.border ? " rt-border" : "";
    switch (part.type) {
      case "rich_text_section":
        out.append(h("div", { class: "rt-section" }, inline(part.elements, ctx)));
        break;
      case "rich_text_list":
        out.append(list(part, ctx));
        break;
      case "rich_text_preformatted":
        out.append(h("pre", { class: `rt-pre${border}` }, inline(part.elements, ctx)));
        break;
      case "rich_text_quote":
        out.append(h("blockquote", { class: `rt-quote${border}` }, inline(part.elements, ctx)));
        break;
      default:
        break;
    }
  }
  return out;
}
