// Block Kit as Slack draws it: section (text, fields, accessory), context (text and images),
// header, divider, actions, image, markdown, rich_text (richtext.js), video, remote file, table
// and, in modals, input; every element the emulator's validator accepts (controls.js for the
// stateful ones). Interactive elements call `ctx.act(element, blockId, value)`; inputs register
// with `ctx.form` so a modal can read them.
import { control, plainText } from "./controls.js";
import { fragment, h, safeLink, sameOrigin } from "./dom.js";
import { markdown } from "./markdown.js";
import { mrkdwn, plain } from "./mrkdwn.js";
import { richText } from "./richtext.js";

export function textObject(obj, ctx) {
  if (!obj) return fragment();
  if (obj.type === "mrkdwn") return mrkdwn(obj.text, ctx);
  return plain(obj.text, ctx, obj.emoji !== false);
}

// An element of a section (accessory) or an actions block. Buttons and overflow menus act on
// click; the stateful elements (selects, checkboxes, pickers…) as soon as their value changes.
function element(el, blockId, ctx) {
  switch (el.type) {
    case "button":
      return button(el, blockId, ctx);
    case "workflow_button":
      return workflowButton(el);
    case "overflow":
      return overflow(el, blockId, ctx);
    case "image":
      return image(el, "element-image");
    case "mrkdwn":
    case "plain_text":
      return h("span", {}, textObject(el, ctx));
    case "feedback_buttons":
      return h(
        "span",
        { class: "bk-feedback" },
        [el.positive_button, el.negative_button].map((b) =>
          h("button", { class: "bk-button", type: "button", title: b.accessibility_label || "", "data-action-id": el.action_id, onclick: () => ctx.act(el, blockId, b.value) }, plainText(b.text)),
        ),
      );
    default:
      return control(el, undefined, ctx, (value) => confirmThen(el.confirm, ctx, () => ctx.act(el, blockId, value))).node;
  }
}

function button(el, blockId, ctx) {
  const label = plainText(el.text);
  const classes = ["bk-button", el.style ? `bk-${el.style}` : ""].join(" ");
  const attrs = { class: classes, type: "button", "data-action-id": el.action_id || "" };
  if (el.url) {
    return safeLink(el.url, h("span", { class: classes }, label));
  }
  return h("button", { ...attrs, onclick: () => confirmThen(el.confirm, ctx, () => ctx.act(el, blockId, el.value)) }, label);
}

// A workflow button starts a Slack workflow, not the app: nothing to send in the sandbox.
function workflowButton(el) {
  const classes = ["bk-button", el.style ? `bk-${el.style}` : ""].join(" ");
  return h("button", { type: "button", class: `${classes} bk-workflow`, title: "Starts a Slack workflow (not run in the sandbox)", "aria-label": el.accessibility_label }, plainText(el.text));
}

function overflow(el, blockId, ctx) {
  const wrap = h("span", { class: "bk-overflow" });
  const menu = h("div", { class: "menu", role: "menu", hidden: true });
  for (const option of el.options || []) {
    menu.append(
      h(
        "button",
        {
          type: "button",
          class: "menu-item",
          role: "menuitem",
          onclick: () => {
            menu.hidden = true;
            confirmThen(el.confirm, ctx, () => ctx.act(el, blockId, option.value));
          },
        },
        plain(plainText(option.text), ctx),
      ),
    );
  }
  const toggle = h(
    "button",
    {
      type: "button",
      class: "bk-overflow-button",
      title: "More actions",
      "aria-label": "More actions",
      "data-action-id": el.action_id || "",
      onclick: (event) => {
        event.stopPropagation();
        const open = menu.hidden;
        document.querySelectorAll(".menu").forEach((m) => (m.hidden = true));
        menu.hidden = !open;
      },
    },
    "⋯",
  );
  wrap.append(toggle, menu);
  return wrap;
}

function confirmThen(confirm, ctx, action) {
  if (!confirm || !ctx.confirm) return action();
  return ctx.confirm(confirm, action);
}

// Images: a URL, or a file uploaded to this workspace (`slack_file`). Only same-origin images
// are loaded (the page works offline and loads nothing from elsewhere); others are drawn as a
// frame with their alt text and where they would come from.
function image(el, cls) {
  const file = el.slack_file || {};
  const url = el.image_url || file.url || (file.id ? `/_emulator/files/${encodeURIComponent(file.id)}` : "");
  if (url && sameOrigin(url)) return h("img", { class: cls, src: url, alt: el.alt_text || "" });
  let host = "";
  try {
    host = new URL(url, location.href).host;
  } catch {
    host = "";
  }
  return h("span", { class: `${cls} image-placeholder`, title: url, role: "img", "aria-label": el.alt_text || "image" }, h("span", { class: "image-alt" }, `🖼 ${el.alt_text || "image"}`), host ? h("span", { class: "image-host" }, host) : null);
}

// inputs (modals) ---------------------------------------------------------------------------

function inputElement(block, ctx) {
  const el = block.element || {};
  const id = `in-${block.block_id}-${el.action_id}`;
  const { node, read } = control(el, id, ctx);
  if (ctx.form) ctx.form.push({ blockId: block.block_id, actionId: el.action_id, read });
  const error = h("div", { class: "bk-field-error", role: "alert", "data-block-id": block.block_id, hidden: true });
  return h(
    "div",
    { class: "bk-input-block", "data-block-id": block.block_id },
    h("label", { class: "bk-label", for: id }, plainText(block.label), block.optional ? h("span", { class: "optional" }, " (optional)") : null),
    node,
    block.hint ? h("div", { class: "bk-hint" }, plainText(block.hint)) : null,
    error,
  );
}

// other blocks --------------------------------------------------------------------------------

function video(block) {
  const title = plainText(block.title);
  return h(
    "div",
    { class: "bk-video" },
    block.author_name ? h("div", { class: "bk-video-author" }, block.author_name) : null,
    h("div", { class: "bk-video-title" }, safeLink(block.title_url || block.video_url || "", title)),
    block.description ? h("div", { class: "bk-video-desc" }, plainText(block.description)) : null,
    h("div", { class: "bk-video-frame" }, image({ image_url: block.thumbnail_url, alt_text: block.alt_text }, "video-thumb"), h("span", { class: "bk-video-play", "aria-hidden": "true" }, "▶")),
    block.provider_name ? h("div", { class: "muted" }, block.provider_name) : null,
  );
}

function remoteFile(block) {
  return h("div", { class: "file bk-file" }, h("div", { class: "file-meta" }, h("span", { class: "file-icon" }, "📄"), h("span", { class: "file-title" }, `Remote file ${block.external_id || ""}`), h("span", { class: "file-size" }, block.source || "remote")));
}

function table(block, ctx) {
  const settings = block.column_settings || [];
  const rows = (block.rows || []).map((row, r) =>
    h(
      "tr",
      {},
      row.map((cell, c) => {
        const node = h(r === 0 ? "th" : "td", {}, cell.type === "rich_text" ? richText(cell, ctx) : cell.text ?? "");
        const setting = settings[c] || {};
        if (setting.align) node.style.textAlign = setting.align;
        if (setting.is_wrapped) node.classList.add("wrap");
        return node;
      }),
    ),
  );
  return h("div", { class: "bk-table-wrap" }, h("table", { class: "bk-table" }, h("tbody", {}, rows)));
}

// blocks ------------------------------------------------------------------------------------

export function renderBlock(block, ctx) {
  const blockId = block.block_id;
  switch (block.type) {
    case "section": {
      const body = h("div", { class: "bk-section-body" });
      if (block.text) body.append(h("div", { class: "bk-text" }, textObject(block.text, ctx)));
      if (block.fields) body.append(h("div", { class: "bk-fields" }, block.fields.map((f) => h("div", {}, textObject(f, ctx)))));
      const section = h("div", { class: "bk-section" }, body);
      if (block.accessory) section.append(h("div", { class: "bk-accessory" }, element(block.accessory, blockId, ctx)));
      return section;
    }
    case "context":
      return h(
        "div",
        { class: "bk-context" },
        (block.elements || []).map((el) => (el.type === "image" ? image(el, "context-image") : h("span", {}, textObject(el, ctx)))),
      );
    case "header":
      return h("div", { class: "bk-header" }, plain(plainText(block.text), ctx));
    case "divider":
      return h("hr", { class: "bk-divider" });
    case "actions":
    case "context_actions":
      return h("div", { class: "bk-actions" }, (block.elements || []).map((el) => element(el, blockId, ctx)));
    case "image":
      return h("figure", { class: "bk-image" }, block.title ? h("figcaption", {}, plainText(block.title)) : null, image(block, "block-image"));
    case "markdown":
      return h("div", { class: "bk-markdown" }, markdown(block.text));
    case "rich_text":
      return richText(block, ctx);
    case "input":
      return inputElement(block, ctx);
    case "video":
      return video(block);
    case "file":
      return remoteFile(block);
    case "table":
      return table(block, ctx);
    default:
      return h("div", { class: "unsupported" }, `[unsupported block: ${block.type}]`);
  }
}

export function renderBlocks(blocks, ctx) {
  return h("div", { class: "blocks" }, (blocks || []).map((b) => renderBlock(b, ctx)));
}
