/**
 * DOM helpers shared by the demo chat page and the ops page. Data reaches either page as text
 * only: `el` sets attributes and appends strings as text nodes, never as markup.
 */

export const $ = (id) => document.getElementById(id);

/**
 * Builds an element. Attributes: `undefined` and `false` are left out, `true` is an empty attribute,
 * `on` maps event names to listeners, `text` sets textContent. Strings among the children become
 * text nodes; `undefined` and `null` children are skipped.
 */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k === 'on') for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== undefined && c !== null) e.append(c);
  return e;
}
