/**
 * The dashboard's DOM helpers. Text is always set as text, never parsed as HTML: short codes are
 * whatever a client typed in a URL.
 */

/** An element with attributes (`class`, `text`, others as attributes) and children. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  node.append(...children);
  return node;
}

/**
 * Shows a backend value formatted and keeps the raw value in data-value, so a test can compare it
 * exactly with the API. null (a figure an older server does not send) shows as "—" with an empty
 * data-value. An unchanged value is not rewritten: most figures stay put between pushes.
 */
export function show(node, raw, format) {
  if (!node) return;
  const value = raw === null || raw === undefined ? "" : String(raw);
  if (node.dataset.value === value) return;
  node.dataset.value = value;
  node.textContent = value === "" ? "—" : format(raw);
}
