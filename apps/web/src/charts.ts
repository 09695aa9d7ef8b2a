// Small inline-SVG bar charts (no chart library). Each chart has a title and a text alternative (a table the
// screen reader gets instead of the drawing), so the numbers are never only in pixels.
import { h, svg, uid } from './dom';

export interface Bar {
  label: string;
  value: number;
  /** Text shown at the end of the bar (defaults to the value). */
  text?: string;
  color?: string;
}

/** Horizontal bars: one row per item, label on the left, value at the end. */
export function barChart(title: string, bars: Bar[], opts: { unit?: string; width?: number } = {}): HTMLElement {
  const width = opts.width ?? 420;
  const rowH = 22;
  const labelW = 130;
  const height = Math.max(rowH, bars.length * rowH) + 4;
  const max = Math.max(1e-9, ...bars.map((b) => b.value));
  const titleId = uid('chart');
  const g = svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': titleId, class: 'chart' });
  g.append(svg('title', { id: titleId }, title));
  bars.forEach((b, i) => {
    const y = i * rowH + 2;
    const w = Math.max(b.value > 0 ? 2 : 0, ((width - labelW - 150) * b.value) / max);
    g.append(
      svg('text', { x: labelW - 6, y: y + 15, 'text-anchor': 'end', class: 'chart-label' }, b.label),
      svg('rect', { x: labelW, y: y + 3, width: w, height: rowH - 6, rx: 2, fill: b.color ?? 'var(--accent)' }),
      svg('text', { x: labelW + w + 6, y: y + 15, class: 'chart-value' }, b.text ?? `${b.value}${opts.unit ?? ''}`),
    );
  });
  return h('figure', { class: 'chart-figure' }, h('figcaption', null, title), bars.length ? g : h('p', { class: 'muted' }, 'No data yet.'), bars.length ? textAlternative(title, bars) : null);
}

/** Vertical bars over ordered buckets (histograms, per-day counts). */
export function columnChart(title: string, bars: Bar[], opts: { height?: number } = {}): HTMLElement {
  const colW = Math.max(14, Math.min(40, Math.floor(400 / Math.max(1, bars.length))));
  const width = Math.max(200, bars.length * (colW + 4) + 10);
  const height = opts.height ?? 140;
  const max = Math.max(1e-9, ...bars.map((b) => b.value));
  const titleId = uid('chart');
  const g = svg('svg', { width, height: height + 34, viewBox: `0 0 ${width} ${height + 34}`, role: 'img', 'aria-labelledby': titleId, class: 'chart' });
  g.append(svg('title', { id: titleId }, title));
  bars.forEach((b, i) => {
    const x = 5 + i * (colW + 4);
    const hgt = Math.max(b.value > 0 ? 2 : 0, ((height - 16) * b.value) / max);
    g.append(
      svg('rect', { x, y: height - hgt, width: colW, height: hgt, rx: 2, fill: b.color ?? 'var(--accent)' }),
      svg('text', { x: x + colW / 2, y: height - hgt - 4, 'text-anchor': 'middle', class: 'chart-value' }, b.value ? b.text ?? String(b.value) : ''),
      svg('text', { x: x + colW / 2, y: height + 14, 'text-anchor': 'middle', class: 'chart-label small' }, b.label),
    );
  });
  return h('figure', { class: 'chart-figure' }, h('figcaption', null, title), bars.length ? g : h('p', { class: 'muted' }, 'No data yet.'), bars.length ? textAlternative(title, bars) : null);
}

function textAlternative(title: string, bars: Bar[]) {
  return h(
    'table',
    { class: 'visually-hidden' },
    h('caption', null, title),
    h('tbody', null, ...bars.map((b) => h('tr', null, h('th', { scope: 'row' }, b.label), h('td', null, b.text ?? String(b.value))))),
  );
}

/** A progress bar with its numbers in words. */
export function progressBar(label: string, value: number, max: number, text?: string): HTMLElement {
  const id = uid('prog');
  return h('div', { class: 'progress' }, h('span', { id }, label), h('progress', { value: String(value), max: String(Math.max(1, max)), 'aria-labelledby': id }), h('span', { class: 'muted small' }, text ?? `${value} / ${max}`));
}
