// Small DOM helpers: elements are built with h() and found by data-testid,
// the names the browser tests use too. Text always goes in as text nodes,
// never as HTML, so nothing a user or a model writes can become markup.

/**
 * @typedef {Record<string, string | number | boolean | null | undefined | ((ev: Event) => void)>} Attrs
 * @typedef {Node | string | null | undefined | false} Child
 */

/**
 * Builds an element. Attributes named on* are listeners; true sets an empty
 * attribute; false, null and undefined leave it out.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Attrs} [attrs]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (typeof value === 'function') {
      el.addEventListener(name.slice(2), value);
    } else if (value === true) {
      el.setAttribute(name, '');
    } else if (value !== false && value !== null && value !== undefined) {
      el.setAttribute(name, String(value));
    }
  }
  el.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

/**
 * The element with this data-testid under root, of the given kind; a missing
 * one is a bug in the page, so it throws.
 * @template {HTMLElement} T
 * @param {string} id
 * @param {{ new (): T, prototype: T }} kind
 * @param {ParentNode} [root]
 * @returns {T}
 */
export function byTestId(id, kind, root = document) {
  const el = root.querySelector(`[data-testid="${id}"]`);
  if (!(el instanceof kind)) throw new Error(`no ${kind.name} ${id}`);
  return el;
}

/**
 * Shows a failure in the page's notice line.
 * @param {unknown} err
 */
export function notify(err) {
  const line = byTestId('notice', HTMLElement);
  line.textContent = err instanceof Error ? err.message : String(err);
  line.hidden = line.textContent === '';
}
