// Block Kit as Slack draws it: section (text, fields, accessory), context, header, divider,
// actions, image, markdown, rich_text and, in modals, input. Interactive elements call
// `ctx.act(element, blockId, value)`; inputs register with `ctx.form` so a modal can read them.
import { emoji } from "./emoji.js";
import { fragment, h, safeLink, sameOrigin } from "./dom.js";
import { markdown } from "./markdown.js";
import { dateToken, mrkdwn, plain } from "./mrkdwn.js";

export function textObject(obj, ctx) {
  if (!obj) return fragment();
  if (obj.type === "mrkdwn") return mrkdwn(obj.text, ctx);
  return plain(obj.text, ctx, obj.emoji !== false);
}

function plainText(obj) {
  return obj && typeof obj.text === "string" ? obj.text : "";
}

// Buttons, overflow menus and selects in messages.
function element(el, blockId, ctx) {
  switch (el.type) {
    case "button":
      return button(el, blockId, ctx);
    case "overflow":
      return overflow(el, blockId, ctx);
    case "image":
      return image(el.image_url, el.alt_text, "element-image");
    case "static_select":
    case "external_select":
      return select(el, blockId, ctx);
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
      return h("span", { class: "unsupported" }, `[${el.type}]`);
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

function select(el, blockId, ctx) {
  const options = allOptions(el);
  const box = h("select", { class: "bk-select", "data-action-id": el.action_id || "" });
  box.append(h("option", { value: "" }, plainText(el.placeholder) || "Select an option"));
  for (const o of options) box.append(h("option", { value: o.value }, plainText(o.text)));
  box.addEventListener("change", () => box.value && ctx.act(el, blockId, box.value));
  return box;
}

function allOptions(el) {
  const options = [...(el.options || [])];
  for (const group of el.option_groups || []) options.push(...(group.options || []));
  return options;
}

function confirmThen(confirm, ctx, action) {
  if (!confirm || !ctx.confirm) return action();
  return ctx.confirm(confirm, action);
}

function image(url, alt, cls) {
  if (url && sameOrigin(url)) return h("img", { class: cls, src: url, alt: alt || "" });
  // Outside images are not fetched (the page works offline and loads nothing from elsewhere).
  return h("span", { class: `${cls} image-placeholder`, title: url || "" }, `🖼 ${alt || "image"}`);
}

// rich_text ---------------------------------------------------------------------------------

function richInline(items, ctx) {
  return (items || []).map((item) => {
    let node;
    switch (item.type) {
      case "text":
        node = document.createTextNode(item.text || "");
        break;
      case "link":
        node = safeLink(item.url || "", item.text || item.url || "");
        break;
      case "user":
        node = h("span", { class: "pill pill-user" }, `@${ctx.userName(item.user_id) || item.user_id}`);
        break;
      case "channel":
        node = h("span", { class: "pill pill-channel" }, `#${ctx.channelName(item.channel_id) || item.channel_id}`);
        break;
      case "usergroup":
        node = h("span", { class: "pill pill-user" }, "@group");
        break;
      case "broadcast":
        node = h("span", { class: "pill pill-broadcast" }, `@${item.range}`);
        break;
      case "emoji":
        node = document.createTextNode(
          item.unicode ? String.fromCodePoint(...item.unicode.split("-").map((c) => parseInt(c, 16))) : emoji(item.name),
        );
        break;
      case "date":
        node = h("time", {}, dateToken(`date^${item.timestamp}^x|${item.fallback || ""}`));
        break;
      default:
        node = document.createTextNode(item.text || "");
    }
    const style = item.style || {};
    if (style.code) node = h("code", {}, node);
    if (style.bold) node = h("b", {}, node);
    if (style.italic) node = h("i", {}, node);
    if (style.strike) node = h("s", {}, node);
    return node;
  });
}

function richText(block, ctx) {
  const out = h("div", { class: "bk-rich-text" });
  for (const part of block.elements || []) {
    switch (part.type) {
      case "rich_text_section":
        out.append(h("div", { class: "rt-section" }, richInline(part.elements, ctx)));
        break;
      case "rich_text_list": {
        const list = h(part.style === "ordered" ? "ol" : "ul", { class: "rt-list" });
        list.style.marginLeft = `${(part.indent || 0) * 1.2}em`;
        for (const item of part.elements || []) list.append(h("li", {}, richInline(item.elements, ctx)));
        out.append(list);
        break;
      }
      case "rich_text_preformatted":
        out.append(h("pre", {}, richInline(part.elements, ctx)));
        break;
      case "rich_text_quote":
        out.append(h("blockquote", {}, richInline(part.elements, ctx)));
        break;
      default:
        break;
    }
  }
  return out;
}

// inputs (modals) ---------------------------------------------------------------------------

function inputElement(block, ctx) {
  const el = block.element || {};
  const id = `in-${block.block_id}-${el.action_id}`;
  let control;
  let read;
  switch (el.type) {
    case "plain_text_input":
    case "email_text_input":
    case "url_text_input":
    case "number_input": {
      const tag = el.multiline ? "textarea" : "input";
      control = h(tag, {
        id,
        name: block.block_id,
        class: "bk-input",
        placeholder: plainText(el.placeholder),
        maxlength: el.max_length,
        type: el.type === "number_input" ? "number" : tag === "input" ? "text" : undefined,
      });
      control.value = el.initial_value ?? "";
      read = () => ({ type: el.type, value: control.value === "" ? null : control.value });
      break;
    }
    case "static_select":
    case "radio_buttons": {
      const options = allOptions(el);
      control = h("select", { id, name: block.block_id, class: "bk-input" });
      if (!el.initial_option) control.append(h("option", { value: "" }, plainText(el.placeholder) || "Choose…"));
      for (const o of options) control.append(h("option", { value: o.value }, plainText(o.text)));
      if (el.initial_option) control.value = el.initial_option.value;
      read = () => {
        const chosen = options.find((o) => o.value === control.value);
        return { type: el.type, selected_option: chosen || null };
      };
      break;
    }
    case "checkboxes":
    case "multi_static_select": {
      const options = allOptions(el);
      const initial = new Set((el.initial_options || []).map((o) => o.value));
      const boxes = options.map((o) => h("input", { type: "checkbox", value: o.value, checked: initial.has(o.value) }));
      control = h("div", { id, class: "bk-checks" }, options.map((o, i) => h("label", {}, boxes[i], plainText(o.text))));
      read = () => ({ type: el.type, selected_options: options.filter((o, i) => boxes[i].checked) });
      break;
    }
    case "datepicker":
    case "timepicker": {
      const date = el.type === "datepicker";
      control = h("input", { id, type: date ? "date" : "time", class: "bk-input" });
      control.value = (date ? el.initial_date : el.initial_time) || "";
      read = () => ({ type: el.type, [date ? "selected_date" : "selected_time"]: control.value || null });
      break;
    }
    case "users_select":
    case "conversations_select":
    case "channels_select": {
      const key = { users_select: "selected_user", conversations_select: "selected_conversation" }[el.type] || "selected_channel";
      const choices = el.type === "users_select" ? ctx.users() : ctx.channels();
      control = h("select", { id, class: "bk-input" }, h("option", { value: "" }, "Choose…"), choices.map((c) => h("option", { value: c.id }, c.label)));
      read = () => ({ type: el.type, [key]: control.value || null });
      break;
    }
    default:
      control = h("span", { class: "unsupported" }, `[${el.type}]`);
      read = () => ({ type: el.type });
  }
  if (ctx.form) ctx.form.push({ blockId: block.block_id, actionId: el.action_id, read });
  const error = h("div", { class: "bk-field-error", role: "alert", "data-block-id": block.block_id, hidden: true });
  return h(
    "div",
    { class: "bk-input-block", "data-block-id": block.block_id },
    h("label", { class: "bk-label", for: id }, plainText(block.label), block.optional ? h("span", { class: "optional" }, " (optional)") : null),
    control,
    block.hint ? h("div", { class: "bk-hint" }, plainText(block.hint)) : null,
    error,
  );
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
        (block.elements || []).map((el) => (el.type === "image" ? image(el.image_url, el.alt_text, "context-image") : h("span", {}, textObject(el, ctx)))),
      );
    case "header":
      return h("div", { class: "bk-header" }, plain(plainText(block.text), ctx));
    case "divider":
      return h("hr", { class: "bk-divider" });
    case "actions":
    case "context_actions":
      return h("div", { class: "bk-actions" }, (block.elements || []).map((el) => element(el, blockId, ctx)));
    case "image":
      return h("figure", { class: "bk-image" }, block.title ? h("figcaption", {}, plainText(block.title)) : null, image(block.image_url, block.alt_text, "block-image"));
    case "markdown":
      return h("div", { class: "bk-markdown" }, markdown(block.text));
    case "rich_text":
      return richText(block, ctx);
    case "input":
      return inputElement(block, ctx);
    default:
      return h("div", { class: "unsupported" }, `[unsupported block: ${block.type}]`);
  }
}

export function renderBlocks(blocks, ctx) {
  return h("div", { class: "blocks" }, (blocks || []).map((b) => renderBlock(b, ctx)));
}
