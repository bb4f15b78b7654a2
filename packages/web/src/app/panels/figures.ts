import { byId, setFigure } from '../dom.ts';

/** One headline figure: its value (flashed when it moved), the sign that colours it, the line below. */
export function tile(
  id: string,
  value: string,
  options: { sign?: string; move?: 'up' | 'down'; sub?: string } = {},
): void {
  const node = byId(`kpi-${id}`);
  node.dataset.sign = options.sign ?? '';
  setFigure(node.querySelector('.kpi-value')!, value, options.move);
  if (options.sub !== undefined) node.querySelector('.kpi-sub')!.textContent = options.sub;
}
