// Boxes, points and polygons on top of the viewers: drawn with the mouse on the image's own plane, listed in a
// side panel (go to, delete; keyboard reachable), and exchanged with the server in continuous pixel
// coordinates of the file's voxel order (pixel (i, j) covers [i, i+1) x [j, j+1): COCO's convention).
//
// One ShapeEditor per workspace holds the editable shapes of every image of the task and, for reviewers,
// the readers' shapes as read-only layers; one ShapeLayer per viewer draws them in an SVG over the canvas and
// turns mouse gestures into shapes. NiiVue never sees the left button while a shape tool is active.
import type { AnnotationType, ProtocolLabel } from '../api';
import { announce, h, svg, uid } from '../dom';
import type { Viewer } from './viewer';

export type ShapeKind = 'box' | 'point' | 'polygon';

export interface WebShape {
  kind: ShapeKind;
  label: number;
  image?: string;
  slice: number;
  box?: [number, number, number, number];
  point?: [number, number];
  points?: [number, number][];
}

export interface ShapeGroup {
  key: string;
  name: string;
  color: string;
  shapes: WebShape[];
  visible: boolean;
}

const KIND_OF_TYPE: Record<string, ShapeKind> = { 'bounding-box': 'box', point: 'point', polygon: 'polygon' };
export const SHAPE_KEYS: Record<string, ShapeKind> = { x: 'box', o: 'point', g: 'polygon' };
const KIND_NAMES: Record<ShapeKind, string> = { box: 'Box', point: 'Point', polygon: 'Polygon' };

/** The shape kinds a protocol asks for, in a fixed order. */
export function shapeKinds(types: readonly AnnotationType[]): ShapeKind[] {
  const kinds = new Set(types.map((t) => KIND_OF_TYPE[t.kind]).filter(Boolean));
  return (['box', 'point', 'polygon'] as ShapeKind[]).filter((k) => kinds.has(k));
}

const r2 = (v: number) => Math.round(v * 100) / 100;

/** One line describing a shape, for the list and for screen readers. */
export function describeShape(s: WebShape, labelName: string): string {
  const where = `slice ${s.slice + 1}`;
  if (s.kind === 'box') {
    const [x0, y0, x1, y1] = s.box!;
    return `Box · ${labelName} · ${where} · ${r2(x1 - x0)}×${r2(y1 - y0)} px at (${r2(x0)}, ${r2(y0)})`;
  }
  if (s.kind === 'point') return `Point · ${labelName} · ${where} · (${r2(s.point![0])}, ${r2(s.point![1])})`;
  return `Polygon · ${labelName} · ${where} · ${s.points!.length} vertices`;
}

/** The centre of a shape, in pixel coordinates. */
function centre(s: WebShape): [number, number] {
  if (s.kind === 'box') return [(s.box![0] + s.box![2]) / 2, (s.box![1] + s.box![3]) / 2];
  if (s.kind === 'point') return s.point!;
  const n = s.points!.length;
  return [s.points!.reduce((a, p) => a + p[0], 0) / n, s.points!.reduce((a, p) => a + p[1], 0) / n];
}

export class ShapeEditor {
  /** The shapes this person edits (an annotator's read, a reviewer's final result). */
  shapes: WebShape[] = [];
  /** Read-only layers (each reader's shapes in a reviewer's view). */
  groups: ShapeGroup[] = [];
  tool: ShapeKind | null = null;
  label: number;
  selected: number | null = null;
  editVisible = true;
  readonly layers: ShapeLayer[] = [];
  private listeners: (() => void)[] = [];
  private updates: (() => void)[] = [];
  private readonly colors: Map<number, string>;
  readonly names: Map<number, string>;

  constructor(
    readonly kinds: ShapeKind[],
    readonly labels: ProtocolLabel[],
    readonly editable: boolean,
  ) {
    this.label = labels[0]?.id ?? 1;
    this.colors = new Map(labels.map((l) => [l.id, l.color]));
    this.names = new Map(labels.map((l) => [l.id, l.name]));
  }

  /** Draws on `viewer`, whose image is the series `image`. */
  attach(viewer: Viewer, image: string) {
    const layer = new ShapeLayer(this, viewer, image);
    this.layers.push(layer);
    return layer;
  }

  colorOf(label: number) {
    return this.colors.get(label) ?? '#ffffff';
  }

  nameOf(label: number) {
    return this.names.get(label) ?? `label ${label}`;
  }

  onChange(fn: () => void) {
    this.listeners.push(fn);
  }

  /** Something changed: redraw every layer and the panel; `edited` marks a change of the editable shapes. */
  changed(edited = true) {
    for (const l of this.layers) l.render(true);
    for (const fn of this.updates) fn();
    if (edited) for (const fn of this.listeners) fn();
  }

  setTool(tool: ShapeKind | null) {
    if (tool && (!this.editable || !this.kinds.includes(tool))) return;
    this.tool = tool;
    for (const l of this.layers) l.toolChanged();
    this.changed(false);
  }

  setLabel(id: number) {
    if (this.names.has(id)) this.label = id;
  }

  add(s: WebShape) {
    this.shapes.push(s);
    this.selected = this.shapes.length - 1;
    announce(`Added ${describeShape(s, this.nameOf(s.label))}`);
    this.changed();
  }

  remove(index: number) {
    const [gone] = this.shapes.splice(index, 1);
    if (!gone) return;
    this.selected = null;
    announce(`Deleted ${describeShape(gone, this.nameOf(gone.label))}`);
    this.changed();
  }

  setShapes(shapes: WebShape[]) {
    this.shapes = shapes.map((s) => structuredClone(s));
    this.selected = null;
    this.changed(false);
  }

  /** Shows the shape: its viewer moves to its slice and centre. */
  show(s: WebShape) {
    const layer = this.layers.find((l) => l.image === s.image) ?? this.layers[0];
    if (!layer) return;
    const [x, y] = centre(s);
    layer.viewer.setView(layer.viewer.planeView());
    layer.viewer.jumpTo([x - 0.5, y - 0.5, s.slice]);
    this.changed(false);
  }

  /** Shapes for the server, each naming its image. */
  forServer(): WebShape[] {
    return this.shapes.map((s) => ({ ...s }));
  }

  destroy() {
    this.layers.forEach((l) => l.destroy());
  }

  /** Keys for shapes (X, O, G tools; Delete; Enter / Escape for polygons). True when handled. */
  handleKey(e: KeyboardEvent): boolean {
    const key = e.key.toLowerCase();
    if (this.editable && SHAPE_KEYS[key] && this.kinds.includes(SHAPE_KEYS[key])) {
      this.setTool(this.tool === SHAPE_KEYS[key] ? null : SHAPE_KEYS[key]);
      return true;
    }
    if (e.key === 'Enter' || e.key === 'Escape' || e.key === 'Backspace') {
      if (this.layers.some((l) => l.polygonKey(e.key))) return true;
    }
    if ((e.key === 'Delete' || e.key === 'Backspace') && this.editable && this.selected !== null) {
      this.remove(this.selected);
      return true;
    }
    if (e.key === 'Escape' && this.tool) {
      this.setTool(null);
      return true;
    }
    return false;
  }

  /** Tool choice, label, visibility and the list of shapes, for the side panel. */
  panel(): HTMLElement & { sync(): void } {
    const toolName = uid('shape-tool');
    const toolInputs = new Map<ShapeKind | null, HTMLInputElement>();
    const toolChip = (kind: ShapeKind | null) => {
      const input = h('input', { type: 'radio', name: toolName, value: kind ?? 'none', checked: this.tool === kind, onchange: () => this.setTool(kind) });
      toolInputs.set(kind, input);
      const key = Object.entries(SHAPE_KEYS).find(([, v]) => v === kind)?.[0];
      return h('label', { class: 'chip' }, input, h('span', null, kind ? KIND_NAMES[kind] : 'Off'), key ? h('kbd', { 'aria-hidden': 'true' }, key.toUpperCase()) : null);
    };
    const labelSel = h(
      'select',
      { 'aria-label': 'Label for new shapes', onchange: () => this.setLabel(Number(labelSel.value)) },
      ...this.labels.map((l) => h('option', { value: String(l.id) }, l.name)),
    );
    const visible = h('input', { type: 'checkbox', checked: this.editVisible, onchange: () => ((this.editVisible = visible.checked), this.changed(false)) });
    const list = h('ul', { class: 'plain shape-list', 'aria-label': 'Shapes' });
    const count = h('p', { class: 'muted small shape-count', 'aria-live': 'polite' });
    const how: Record<ShapeKind, string> = {
      box: 'Box: drag over the finding.',
      point: 'Point: click on it.',
      polygon: 'Polygon: click each corner, then the first one again, double-click or press Enter; Esc cancels.',
    };
    const hint = h('p', { class: 'muted small' }, this.kinds.map((k) => how[k]).join(' '));
    const el = h(
      'section',
      { class: 'panel shape-tools', 'aria-label': 'Shapes' },
      h('h2', null, this.editable ? 'Shapes' : 'Shapes (read only)'),
      this.editable ? h('fieldset', { class: 'tools' }, h('legend', null, 'Shape tool'), toolChip(null), ...this.kinds.map(toolChip)) : null,
      this.editable ? h('label', { class: 'inline' }, 'Label ', labelSel) : null,
      this.editable ? hint : null,
      h('label', { class: 'inline check' }, visible, 'Show shapes'),
      count,
      list,
    ) as HTMLElement & { sync(): void };
    el.sync = () => {
      toolInputs.forEach((input, kind) => (input.checked = this.tool === kind));
      labelSel.value = String(this.label);
      count.textContent = this.shapes.length ? `${this.shapes.length} shape${this.shapes.length > 1 ? 's' : ''}` : 'No shapes yet.';
      list.replaceChildren(
        ...this.shapes.map((s, i) => {
          const text = describeShape(s, this.nameOf(s.label));
          return h(
            'li',
            { class: i === this.selected ? 'selected' : '', dataset: { kind: s.kind } },
            h('span', { class: 'swatch', style: `background:${this.colorOf(s.label)}`, 'aria-hidden': 'true' }),
            h('button', { type: 'button', class: 'link', 'aria-label': `Show ${text}`, onclick: () => ((this.selected = i), this.show(s)) }, text),
            this.editable ? h('button', { type: 'button', class: 'small', 'aria-label': `Delete ${text}`, onclick: () => this.remove(i) }, 'Delete') : null,
          );
        }),
      );
    };
    this.updates.push(() => el.sync());
    el.sync();
    return el;
  }
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** One viewer's shapes: an SVG over its canvas, and the mouse gestures that make new shapes. */
export class ShapeLayer {
  private readonly svgEl: SVGSVGElement;
  private lastSignature = '';
  private frame = 0;
  private dragStart: { x: number; y: number; slice: number } | null = null;
  private dragNow: { x: number; y: number } | null = null;
  private polygon: { slice: number; points: [number, number][] } | null = null;
  private hover: { x: number; y: number } | null = null;
  private alive = true;

  constructor(
    private readonly editor: ShapeEditor,
    readonly viewer: Viewer,
    readonly image: string,
  ) {
    this.svgEl = document.createElementNS(SVG_NS, 'svg');
    this.svgEl.setAttribute('class', 'shape-layer');
    this.svgEl.setAttribute('aria-hidden', 'true');
    viewer.host.append(this.svgEl);
    const c = viewer.canvas;
    // Capture phase on the canvas: these run before NiiVue's own handlers, which never see a shape gesture.
    c.addEventListener('mousedown', this.onDown, { capture: true });
    c.addEventListener('mousemove', this.onMove, { capture: true });
    c.addEventListener('dblclick', this.onDblClick, { capture: true });
    window.addEventListener('mouseup', this.onUp, { capture: true });
    viewer.onTool((t) => {
      if (t !== 'navigate' && editor.tool) editor.setTool(null);
    });
    const tick = () => {
      if (!this.alive) return;
      this.render(false);
      this.frame = requestAnimationFrame(tick);
    };
    this.frame = requestAnimationFrame(tick);
  }

  destroy() {
    this.alive = false;
    cancelAnimationFrame(this.frame);
    window.removeEventListener('mouseup', this.onUp, { capture: true });
    this.svgEl.remove();
  }

  toolChanged() {
    this.dragStart = this.dragNow = this.polygon = null;
    if (this.editor.tool) {
      if (this.viewer.tool !== 'navigate') this.viewer.setTool('navigate');
      const plane = this.viewer.planeView();
      if (this.viewer.view !== plane) this.viewer.setView(plane);
    }
    this.viewer.canvas.dataset.shapeTool = this.editor.tool ?? '';
  }

  /** Enter closes, Escape cancels, Backspace removes the last corner of a polygon in progress. */
  polygonKey(key: string): boolean {
    if (!this.polygon) return false;
    if (key === 'Enter') this.closePolygon();
    else if (key === 'Escape') this.polygon = null;
    else if (key === 'Backspace') this.polygon.points.pop();
    this.render(true);
    return true;
  }

  private active(e: MouseEvent) {
    return this.editor.editable && this.editor.tool !== null && e.button === 0 && !e.ctrlKey && !e.altKey && !e.metaKey;
  }

  private clamp(p: { x: number; y: number }): [number, number] {
    const [nx, ny] = this.viewer.dims;
    return [r2(Math.min(nx, Math.max(0, p.x))), r2(Math.min(ny, Math.max(0, p.y)))];
  }

  private onDown = (e: MouseEvent) => {
    if (!this.active(e)) return;
    e.stopImmediatePropagation();
    e.preventDefault();
    this.viewer.canvas.focus();
    const p = this.viewer.pixelAt(e.clientX, e.clientY);
    if (!p) return;
    const tool = this.editor.tool!;
    const [x, y] = this.clamp(p);
    if (tool === 'point') this.editor.add({ kind: 'point', label: this.editor.label, image: this.image, slice: p.slice, point: [x, y] });
    else if (tool === 'box') {
      this.dragStart = { x, y, slice: p.slice };
      this.dragNow = { x, y };
    } else {
      if (this.polygon && this.polygon.slice !== p.slice) this.polygon = null;
      if (!this.polygon) this.polygon = { slice: p.slice, points: [] };
      const first = this.polygon.points[0];
      const firstAt = first && this.viewer.canvasOfPixel(first[0], first[1], p.slice);
      const rect = this.viewer.canvas.getBoundingClientRect();
      if (firstAt && this.polygon.points.length >= 3 && Math.hypot(firstAt[0] - (e.clientX - rect.left), firstAt[1] - (e.clientY - rect.top)) <= 6) this.closePolygon();
      else this.polygon.points.push([x, y]);
    }
    this.render(true);
  };

  private onMove = (e: MouseEvent) => {
    if (!this.editor.tool) return;
    const p = this.viewer.pixelAt(e.clientX, e.clientY);
    if (this.dragStart) {
      e.stopImmediatePropagation();
      if (p) {
        const [x, y] = this.clamp(p);
        this.dragNow = { x, y };
      }
    }
    this.hover = p ? { x: p.x, y: p.y } : null;
    if (this.dragStart || this.polygon) this.render(true);
  };

  private onUp = (e: MouseEvent) => {
    if (!this.dragStart) return;
    if (e.target === this.viewer.canvas) e.stopImmediatePropagation();
    const a = this.dragStart;
    const b = this.dragNow ?? a;
    this.dragStart = this.dragNow = null;
    const box: [number, number, number, number] = [Math.min(a.x, b.x), Math.min(a.y, b.y), Math.max(a.x, b.x), Math.max(a.y, b.y)];
    // A click without a drag is not a box.
    if (box[2] - box[0] >= 0.5 && box[3] - box[1] >= 0.5) this.editor.add({ kind: 'box', label: this.editor.label, image: this.image, slice: a.slice, box });
    this.render(true);
  };

  private onDblClick = (e: MouseEvent) => {
    if (this.editor.tool !== 'polygon' || !this.polygon) return;
    e.stopImmediatePropagation();
    e.preventDefault();
    // The double-click's two mousedowns each added a corner at the same spot: drop the repeat.
    const pts = this.polygon.points;
    while (pts.length > 1 && Math.hypot(pts[pts.length - 1][0] - pts[pts.length - 2][0], pts[pts.length - 1][1] - pts[pts.length - 2][1]) < 0.5) pts.pop();
    this.closePolygon();
  };

  private closePolygon() {
    const poly = this.polygon;
    this.polygon = null;
    if (!poly || poly.points.length < 3) return;
    this.editor.add({ kind: 'polygon', label: this.editor.label, image: this.image, slice: poly.slice, points: poly.points });
  }

  /** Redraws when the view moved (or always with `force`). */
  render(force: boolean) {
    const sig = this.viewer.viewSignature();
    if (!force && sig === this.lastSignature) return;
    this.lastSignature = sig;
    const v = this.viewer;
    const rect = v.canvas.getBoundingClientRect();
    this.svgEl.setAttribute('viewBox', `0 0 ${Math.max(1, rect.width)} ${Math.max(1, rect.height)}`);
    this.svgEl.setAttribute('width', String(rect.width));
    this.svgEl.setAttribute('height', String(rect.height));
    const parts: SVGElement[] = [];
    const onPlane = v.view === v.planeView();
    const slice = v.location()?.voxel[2] ?? 0;
    if (onPlane) {
      const mine = (s: WebShape) => (s.image ?? this.editor.layers[0]?.image) === this.image && s.slice === slice;
      for (const g of this.editor.groups) {
        if (!g.visible) continue;
        for (const s of g.shapes.filter(mine)) {
          const el = this.shapeSvg(s, g.color, true);
          if (el) parts.push(el);
        }
      }
      if (this.editor.editVisible) {
        this.editor.shapes.forEach((s, i) => {
          if (!mine(s)) return;
          const el = this.shapeSvg(s, this.editor.colorOf(s.label), false, i === this.editor.selected);
          if (el) parts.push(el);
        });
      }
      if (this.dragStart && this.dragNow) {
        const el = this.shapeSvg({ kind: 'box', label: this.editor.label, slice: this.dragStart.slice, box: [this.dragStart.x, this.dragStart.y, this.dragNow.x, this.dragNow.y] }, this.editor.colorOf(this.editor.label), true);
        if (el) parts.push(el);
      }
      if (this.polygon && this.polygon.slice === slice) {
        const pts = [...this.polygon.points, ...(this.hover ? [[this.hover.x, this.hover.y] as [number, number]] : [])];
        const screen = pts.map(([x, y]) => v.canvasOfPixel(x, y, slice)).filter((p): p is [number, number] => Boolean(p));
        parts.push(svg('polyline', { points: screen.map((p) => p.join(',')).join(' '), fill: 'none', stroke: this.editor.colorOf(this.editor.label), 'stroke-width': 2, 'stroke-dasharray': '4 3' }));
        for (const p of screen.slice(0, this.polygon.points.length)) parts.push(svg('circle', { cx: p[0], cy: p[1], r: 3, fill: this.editor.colorOf(this.editor.label) }));
      }
    }
    this.svgEl.replaceChildren(...parts);
    this.svgEl.dataset.shapes = String(parts.length);
  }

  private shapeSvg(s: WebShape, color: string, dashed: boolean, selected = false): SVGElement | null {
    const v = this.viewer;
    const style = { stroke: color, 'stroke-width': selected ? 3 : 2, fill: 'none', ...(dashed ? { 'stroke-dasharray': '5 3' } : {}) };
    if (s.kind === 'point') {
      const p = v.canvasOfPixel(s.point![0], s.point![1], s.slice);
      if (!p) return null;
      return svg('g', { 'data-kind': 'point' }, svg('circle', { cx: p[0], cy: p[1], r: selected ? 7 : 5, ...style }), svg('circle', { cx: p[0], cy: p[1], r: 1.5, fill: color }));
    }
    const corners: [number, number][] = s.kind === 'box' ? [[s.box![0], s.box![1]], [s.box![2], s.box![1]], [s.box![2], s.box![3]], [s.box![0], s.box![3]]] : s.points!;
    const screen = corners.map(([x, y]) => v.canvasOfPixel(x, y, s.slice));
    if (screen.some((p) => !p)) return null;
    return svg('polygon', { points: (screen as [number, number][]).map((p) => p.join(',')).join(' '), 'data-kind': s.kind, ...style });
  }
}
