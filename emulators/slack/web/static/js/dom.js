// Building the page's DOM. Data is only ever put in text nodes and attributes, never parsed as
// HTML, so whatever the app or the agent writes stays inert text on the page.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "value") el.value = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export function fragment(...children) {
  return append(document.createDocumentFragment(), children);
}

const SAFE_SCHEMES = new Set(["http:", "https:", "mailto:"]);

// A link only for http(s) and mailto URLs; anything else (javascript:, data:, …) is shown as
// plain text, as Slack does with links it will not open.
export function safeLink(url, children, title) {
  let parsed;
  try {
    parsed = new URL(url, location.href);
  } catch {
    return fragment(children);
  }
  if (!SAFE_SCHEMES.has(parsed.protocol)) return fragment(children);
  return h(
    "a",
    { href: parsed.href, target: "_blank", rel: "noopener noreferrer", title: title || parsed.href },
    children,
  );
}

// Same-origin URLs only, for image previews: the page never loads anything from elsewhere.
export function sameOrigin(url) {
  try {
    return new URL(url, location.href).origin === location.origin;
  } catch {
    return false;
  }
}

export function timeOf(ts) {
  const date = new Date(parseFloat(ts) * 1000);
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export function sizeOf(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export async function postJSON(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body ?? {}),
  });
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = { ok: false, error: `HTTP ${response.status}` };
  }
  return { status: response.status, data };
}
