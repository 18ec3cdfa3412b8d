/**
 * The only way the extension pages build DOM: elements created with createElement and filled with
 * textContent. Certificate fields, names and URLs are attacker-controlled (docs/design.md, "Rules"),
 * so nothing here parses HTML.
 */

/**
 * Creates an element.
 * @param {Document} doc
 * @param {string} tag
 * @param {{class?: string, text?: string, title?: string, attrs?: object}} [props]
 * @param {(Node|null|undefined)[]} [children]
 */
export function el(doc, tag, props = {}, children = []) {
  const node = doc.createElement(tag);
  if (props.class) node.className = props.class;
  if (props.text !== undefined && props.text !== null) node.textContent = String(props.text);
  if (props.title) node.title = String(props.title);
  for (const [k, v] of Object.entries(props.attrs ?? {})) node.setAttribute(k, String(v));
  for (const c of children) if (c) node.append(c);
  return node;
}

/** Removes all children of a node. */
export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
}
