/** Tiny DOM helpers. Text goes in through textContent only: server data is never parsed as HTML. */

type Child = Node | string | null | undefined | false;

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined) continue;
    if (name === 'class') node.className = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child);
  }
  return node;
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`#${id} missing from the page`);
  return node as T;
}

/**
 * Set a figure's text, and when it moved, flash it green or red for a moment: a trader's eye goes
 * to what just changed. `direction` is the sign of the move (not of the value).
 */
export function setFigure(node: Element, text: string, direction?: 'up' | 'down'): void {
  if (node.textContent === text) return;
  const first = node.textContent === '' || node.textContent === '—';
  node.textContent = text;
  if (first || !direction) return;
  node.classList.remove('flash-up', 'flash-down');
  // Restart the animation when the same class is applied twice in a row.
  void (node as HTMLElement).offsetWidth;
  node.classList.add(direction === 'up' ? 'flash-up' : 'flash-down');
}

export function moveOf(
  previous: number | null | undefined,
  next: number | null | undefined,
): 'up' | 'down' | undefined {
  if (previous === null || previous === undefined || next === null || next === undefined || previous === next) {
    return undefined;
  }
  return next > previous ? 'up' : 'down';
}
