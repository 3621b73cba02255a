// Block Kit's stateful elements as Slack draws them: selects (static, external, users,
// conversations, channels) and their multi- versions, checkboxes, radio buttons, date, time and
// date-time pickers, and the text, number, email, URL, rich-text and file inputs.
//
// `control(el, id, ctx, onChange)` returns `{node, read}`. `read()` is the element's value as
// Slack puts it in `view.state.values` (what a modal submits). In a message, `onChange(value)`
// sends the `block_actions` Slack sends the moment a choice changes: one value, or a list of
// values for the multi- elements.
import { clear, h } from "./dom.js";

export function plainText(obj) {
  return obj && typeof obj.text === "string" ? obj.text : "";
}

export function allOptions(el) {
  const options = [...(el.options || [])];
  for (const group of el.option_groups || []) options.push(...(group.options || []));
  return options;
}

// [{label, options: [{value, label}]}]; label null for options outside any group.
function optionGroups(el) {
  const groups = [];
  if (el.options) groups.push({ label: null, options: el.options.map((o) => ({ value: o.value, label: plainText(o.text) })) });
  for (const group of el.option_groups || []) {
    groups.push({ label: plainText(group.label), options: (group.options || []).map((o) => ({ value: o.value, label: plainText(o.text) })) });
  }
  return groups;
}

function fillSelect(select, groups, placeholder, skip = new Set()) {
  clear(select);
  select.append(h("option", { value: "" }, placeholder));
  for (const group of groups) {
    const items = group.options.filter((o) => !skip.has(o.value)).map((o) => h("option", { value: o.value }, o.label));
    if (group.label === null) select.append(...items);
    else if (items.length) select.append(h("optgroup", { label: group.label }, items));
  }
}

function labelOf(groups, value) {
  for (const group of groups) {
    const found = group.options.find((o) => o.value === value);
    if (found) return found.label;
  }
  return value;
}

// A dropdown as Slack draws one: a box with the choice (or the placeholder) and a caret.
function single(groups, initial, placeholder, id, change) {
  const select = h("select", { id, class: "bk-select" });
  fillSelect(select, groups, placeholder);
  select.value = initial || "";
  select.addEventListener("change", () => select.value && change(select.value));
  return select;
}

// A multi-select: the chosen options as chips, each with ×, and a dropdown to add another.
function multi(groups, initial, placeholder, id, change) {
  const chosen = [...initial];
  const chips = h("span", { class: "bk-chips" });
  const adder = h("select", { id, class: "bk-select bk-multi-add" });
  const draw = () => {
    clear(chips);
    for (const value of chosen) {
      const remove = () => {
        chosen.splice(chosen.indexOf(value), 1);
        draw();
        change([...chosen]);
      };
      chips.append(
        h("span", { class: "bk-chip", "data-value": value }, labelOf(groups, value), h("button", { type: "button", class: "bk-chip-x", "aria-label": "Remove", onclick: remove }, "×")),
      );
    }
    fillSelect(adder, groups, chosen.length ? "Add another…" : placeholder, new Set(chosen));
  };
  adder.addEventListener("change", () => {
    if (!adder.value) return;
    chosen.push(adder.value);
    draw();
    change([...chosen]);
  });
  draw();
  return { node: h("div", { class: "bk-multi" }, chips, adder), values: () => [...chosen] };
}

const PICKERS = {
  // type → [what one item is called in state values, the initial field, where choices come from]
  users_select: ["selected_user", "initial_user", "users"],
  conversations_select: ["selected_conversation", "initial_conversation", "channels"],
  channels_select: ["selected_channel", "initial_channel", "channels"],
};

function choiceList(el, ctx, kind) {
  const source = kind === "users" ? ctx.users() : ctx.channels();
  return [{ label: null, options: source.map((c) => ({ value: c.id, label: c.label })) }];
}

function checks(el, id, multiple, change) {
  const options = el.options || [];
  const initial = new Set((multiple ? el.initial_options || [] : el.initial_option ? [el.initial_option] : []).map((o) => o.value));
  const inputs = options.map((o) =>
    h("input", { type: multiple ? "checkbox" : "radio", name: id, value: o.value, checked: initial.has(o.value) }),
  );
  const chosen = () => options.filter((o, i) => inputs[i].checked);
  inputs.forEach((input) =>
    input.addEventListener("change", () => change(multiple ? chosen().map((o) => o.value) : input.value)),
  );
  const node = h(
    "div",
    { id, class: multiple ? "bk-checkboxes" : "bk-radios", role: multiple ? "group" : "radiogroup" },
    options.map((o, i) =>
      h(
        "label",
        { class: "bk-choice" },
        inputs[i],
        h("span", {}, h("span", { class: "bk-choice-text" }, plainText(o.text)), o.description ? h("span", { class: "bk-choice-desc" }, plainText(o.description)) : null),
      ),
    ),
  );
  return { node, chosen };
}

function textInput(el, id) {
  const kinds = { email_text_input: "email", url_text_input: "url", number_input: "number" };
  const tag = el.multiline ? "textarea" : "input";
  const node = h(tag, {
    id,
    class: "bk-input",
    placeholder: plainText(el.placeholder),
    minlength: el.min_length,
    maxlength: el.max_length,
    min: el.min_value,
    max: el.max_value,
    step: el.type === "number_input" ? (el.is_decimal_allowed ? "any" : "1") : undefined,
    type: tag === "input" ? kinds[el.type] || "text" : undefined,
  });
  node.value = el.initial_value ?? "";
  return { node, read: () => ({ type: el.type, value: node.value === "" ? null : node.value }) };
}

function pad(n) {
  return String(n).padStart(2, "0");
}

function localDateTime(unix) {
  const d = new Date(unix * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function control(el, id, ctx, onChange = () => {}) {
  const placeholder = plainText(el.placeholder) || "Select an option";
  switch (el.type) {
    case "plain_text_input":
    case "email_text_input":
    case "url_text_input":
    case "number_input":
      return textInput(el, id);
    case "rich_text_input": {
      const node = h("textarea", { id, class: "bk-input bk-rich-input", placeholder: plainText(el.placeholder) });
      const initial = el.initial_value?.elements?.[0]?.elements || [];
      node.value = initial.map((item) => item.text || "").join("");
      const read = () => ({
        type: el.type,
        rich_text_value: { type: "rich_text", elements: node.value ? [{ type: "rich_text_section", elements: [{ type: "text", text: node.value }] }] : [] },
      });
      return { node, read };
    }
    case "file_input": {
      const types = (el.filetypes || []).join(", ");
      const node = h("div", { id, class: "bk-file-input" }, "Drag a file here or ", h("span", { class: "link" }, "upload from your computer"), types ? h("div", { class: "muted" }, `Allowed: ${types}`) : null);
      node.title = "Files cannot be uploaded through a sandbox modal";
      return { node, read: () => ({ type: el.type, files: [] }) };
    }
    case "static_select":
    case "external_select": {
      const groups = optionGroups(el);
      if (el.type === "external_select" && el.initial_option) groups.push({ label: null, options: [{ value: el.initial_option.value, label: plainText(el.initial_option.text) }] });
      const node = single(groups, el.initial_option?.value, placeholder, id, onChange);
      if (el.type === "external_select") node.title = "Options from the app's options load URL are not fetched in the sandbox";
      const options = el.type === "external_select" && el.initial_option ? [el.initial_option] : allOptions(el);
      return { node, read: () => ({ type: el.type, selected_option: options.find((o) => o.value === node.value) || null }) };
    }
    case "multi_static_select":
    case "multi_external_select": {
      const options = [...allOptions(el), ...(el.type === "multi_external_select" ? el.initial_options || [] : [])];
      const groups = el.type === "multi_static_select" ? optionGroups(el) : [{ label: null, options: options.map((o) => ({ value: o.value, label: plainText(o.text) })) }];
      const m = multi(groups, (el.initial_options || []).map((o) => o.value), placeholder, id, onChange);
      return { node: m.node, read: () => ({ type: el.type, selected_options: m.values().map((v) => options.find((o) => o.value === v)) }) };
    }
    case "users_select":
    case "conversations_select":
    case "channels_select": {
      const [field, initial, kind] = PICKERS[el.type];
      const node = single(choiceList(el, ctx, kind), el[initial], placeholder, id, onChange);
      return { node, read: () => ({ type: el.type, [field]: node.value || null }) };
    }
    case "multi_users_select":
    case "multi_conversations_select":
    case "multi_channels_select": {
      const [field, initial, kind] = PICKERS[el.type.slice("multi_".length)];
      const m = multi(choiceList(el, ctx, kind), el[`${initial}s`] || [], placeholder, id, onChange);
      return { node: m.node, read: () => ({ type: el.type, [`${field}s`]: m.values() }) };
    }
    case "checkboxes": {
      const c = checks(el, id, true, onChange);
      return { node: c.node, read: () => ({ type: el.type, selected_options: c.chosen() }) };
    }
    case "radio_buttons": {
      const c = checks(el, id, false, onChange);
      return { node: c.node, read: () => ({ type: el.type, selected_option: c.chosen()[0] || null }) };
    }
    case "datepicker":
    case "timepicker": {
      const date = el.type === "datepicker";
      const node = h("input", { id, type: date ? "date" : "time", class: "bk-input bk-picker", title: plainText(el.placeholder) || undefined });
      node.value = (date ? el.initial_date : el.initial_time) || "";
      node.addEventListener("change", () => node.value && onChange(node.value));
      return { node, read: () => ({ type: el.type, [date ? "selected_date" : "selected_time"]: node.value || null }) };
    }
    case "datetimepicker": {
      const node = h("input", { id, type: "datetime-local", class: "bk-input bk-picker" });
      if (el.initial_date_time) node.value = localDateTime(el.initial_date_time);
      const unix = () => (node.value ? Math.floor(new Date(node.value).getTime() / 1000) : null);
      node.addEventListener("change", () => node.value && onChange(String(unix())));
      return { node, read: () => ({ type: el.type, selected_date_time: unix() }) };
    }
    default:
      return { node: h("span", { class: "unsupported" }, `[${el.type}]`), read: () => ({ type: el.type }) };
  }
}
