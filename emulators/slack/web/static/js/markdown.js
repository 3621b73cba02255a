// The `markdown` block: standard Markdown (CommonMark's common parts), as Slack renders it.
// Raw HTML in it is shown as text, never interpreted.
import { emoji } from "./emoji.js";
import { fragment, h, safeLink } from "./dom.js";

const INLINE = new RegExp(
  [
    "(`+)([^`]|[^`][\\s\\S]*?[^`])\\1(?!`)", // 1,2 code
    "\\[([^\\]\\n]*)\\]\\(([^()\\s]+)(?:\\s+\"[^\"]*\")?\\)", // 3,4 link
    "<((?:https?|mailto):[^<>\\s]+)>", // 5 autolink
    "(\\*\\*|__)(?=\\S)([\\s\\S]*?\\S)\\6", // 6,7 strong
    "(?<![\\w*])\\*(?=\\S)([^*]*?\\S)\\*(?![\\w*])", // 8 em
    "(?<![\\w_])_(?=\\S)([^_]*?\\S)_(?![\\w_])", // 9 em
    "~~(?=\\S)([\\s\\S]*?\\S)~~", // 10 strike
    ":([a-z0-9_+\\-]+):", // 11 emoji
  ].join("|"),
  "g",
);
const ENTITIES = { lt: "<", gt: ">", amp: "&", quot: '"', "#39": "'", nbsp: "\u00a0" };

function decode(text) {
  return text.replace(/&(lt|gt|amp|quot|#39|nbsp);/g, (_, n) => ENTITIES[n]);
}

function inline(text) {
  const out = [];
  let last = 0;
  for (const m of text.matchAll(INLINE)) {
    if (m.index > last) out.push(decode(text.slice(last, m.index)));
    if (m[1]) out.push(h("code", {}, m[2]));
    else if (m[4] !== undefined) out.push(safeLink(m[4], inline(m[3] || m[4])));
    else if (m[5]) out.push(safeLink(m[5], m[5]));
    else if (m[6]) out.push(h("b", {}, inline(m[7])));
    else if (m[8] !== undefined) out.push(h("i", {}, inline(m[8])));
    else if (m[9] !== undefined) out.push(h("i", {}, inline(m[9])));
    else if (m[10] !== undefined) out.push(h("s", {}, inline(m[10])));
    else if (m[11]) out.push(emoji(m[11]));
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(decode(text.slice(last)));
  return out.flatMap((part, i) =>
    typeof part === "string" ? part.split("\n").flatMap((s, j) => (j ? [h("br"), s] : [s])) : [part],
  );
}

const LIST_ITEM = /^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/;

export function markdown(source) {
  const rows = String(source ?? "").replace(/\r\n?/g, "\n").split("\n");
  const out = [];
  let i = 0;
  while (i < rows.length) {
    const row = rows[i];
    const fence = /^\s*(```|~~~)/.exec(row);
    if (fence) {
      const body = [];
      i += 1;
      while (i < rows.length && !rows[i].trim().startsWith(fence[1])) body.push(rows[i++]);
      i += 1;
      out.push(h("pre", {}, body.join("\n")));
      continue;
    }
    const heading = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(row);
    if (heading) {
      out.push(h(`h${Math.min(heading[1].length + 2, 6)}`, { class: "md-heading" }, inline(heading[2])));
      i += 1;
      continue;
    }
    if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(row)) {
      out.push(h("hr"));
      i += 1;
      continue;
    }
    if (/^\s*>/.test(row)) {
      const body = [];
      while (i < rows.length && /^\s*>/.test(rows[i])) body.push(rows[i++].replace(/^\s*> ?/, ""));
      out.push(h("blockquote", {}, markdown(body.join("\n"))));
      continue;
    }
    if (LIST_ITEM.test(row)) {
      const ordered = /^\s*\d/.test(row);
      const list = h(ordered ? "ol" : "ul");
      while (i < rows.length && LIST_ITEM.test(rows[i])) {
        const [, indent, , text] = LIST_ITEM.exec(rows[i]);
        const item = h("li", {}, inline(text));
        if (indent.length >= 2) item.style.marginLeft = `${Math.min(indent.length, 12) * 0.6}em`;
        list.append(item);
        i += 1;
      }
      out.push(list);
      continue;
    }
    if (!row.trim()) {
      i += 1;
      continue;
    }
    const para = [];
    while (
      i < rows.length &&
      rows[i].trim() &&
      !/^\s*(```|~~~|#{1,6}\s|>)/.test(rows[i]) &&
      !LIST_ITEM.test(rows[i])
    ) {
      para.push(rows[i++]);
    }
    out.push(h("p", {}, inline(para.join("\n"))));
  }
  return fragment(out);
}
