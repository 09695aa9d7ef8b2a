// The controls around a viewer, shared by the annotator and reviewer workspaces: display toolbar (presets,
// window/level, invert, zoom, reset, views, cine), the position/value readout, the mask tools panel (tools,
// label palette, brush size, threshold range, undo/redo, per-label visibility, mask opacity) and keyboard
// shortcuts with their help text.
import type { ProtocolLabel } from '../api';
import { h, uid } from '../dom';
import type { ShapeEditor } from './shapes';
import { Location, presetsFor, Tool, View, Viewer } from './viewer';

/** Fired on document when a shortcut changed the zoom, so the toolbar's read-out follows. */
const ZOOM_EVENT = 'contour:zoom';

const fmt = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '–');

/**
 * Display controls for one or several linked viewers (the first is the one whose values are shown). Zoom,
 * pan, slice and cine go to the first viewer only: linked viewers follow it (NiiVue broadcast); window,
 * invert, views and reset go to each.
 */
export function displayToolbar(viewerList: Viewer[] | (() => Viewer[]), modality: string): HTMLElement {
  const viewers = () => (typeof viewerList === 'function' ? viewerList() : viewerList);
  const main = viewers()[0];
  const all = (fn: (v: Viewer) => void) => viewers().forEach(fn);
  const presetSel = h(
    'select',
    { 'aria-label': 'Window preset', onchange: () => all((v) => v.applyPreset(presetSel.value)) },
    h('option', { value: '' }, 'Preset…'),
    ...presetsFor(modality).map((p) => h('option', { value: p.key }, p.label)),
  );
  const width = h('input', { type: 'number', step: '1', 'aria-label': 'Window width', class: 'num', onchange: () => all((v) => v.setWindowLevel(Number(width.value), Number(level.value))) });
  const level = h('input', { type: 'number', step: '1', 'aria-label': 'Window level (centre)', class: 'num', onchange: () => all((v) => v.setWindowLevel(Number(width.value), Number(level.value))) });
  const showWl = (w: number, l: number) => {
    if (document.activeElement !== width) width.value = fmt(w, 0);
    if (document.activeElement !== level) level.value = fmt(l, 0);
  };
  main.onWindow(showWl);
  showWl(...main.windowLevel());
  const invert = h('input', { type: 'checkbox', id: uid('inv'), onchange: () => all((v) => v.setInverted(invert.checked)) });
  const zoomLabel = h('output', { class: 'zoom-out', 'aria-live': 'off' }, '100%');
  const showZoom = () => (zoomLabel.textContent = `${Math.round(main.zoom() * 100)}%`);
  const zoom = (f: number) => {
    main.zoomBy(f);
    showZoom();
  };
  const onZoomEvent = () => (bar.isConnected ? showZoom() : document.removeEventListener(ZOOM_EVENT, onZoomEvent));
  document.addEventListener(ZOOM_EVENT, onZoomEvent);
  const viewBtns = (['axial', 'coronal', 'sagittal', 'multiplanar'] as View[]).map((view) =>
    h(
      'button',
      {
        type: 'button',
        class: 'seg',
        'aria-pressed': String(main.view === view),
        disabled: !main.is3D && view !== 'axial',
        dataset: { view },
        onclick: () => {
          all((v) => v.setView(view));
          viewBtns.forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.view === view)));
        },
      },
      view === 'multiplanar' ? 'Orthogonal' : view[0].toUpperCase() + view.slice(1),
    ),
  );
  const cine = h('button', {
    type: 'button',
    'aria-pressed': 'false',
    disabled: !main.is3D,
    title: 'Play the frames in a loop (multi-frame images)',
    onclick: () => {
      if (main.playing) main.stop();
      else main.play(10);
      cine.setAttribute('aria-pressed', String(main.playing));
      cine.textContent = main.playing ? 'Stop cine' : 'Play cine';
    },
  }, 'Play cine');
  const bar = h(
    'div',
    { class: 'toolbar', role: 'toolbar', 'aria-label': 'Display' },
    h('div', { class: 'group' }, presetSel, h('label', { class: 'inline' }, 'W ', width), h('label', { class: 'inline' }, 'L ', level)),
    h('div', { class: 'group' }, h('label', { class: 'inline check' }, invert, 'Invert')),
    h(
      'div',
      { class: 'group' },
      h('button', { type: 'button', 'aria-label': 'Zoom out', title: 'Zoom out (−)', onclick: () => zoom(1 / 1.25) }, '−'),
      zoomLabel,
      h('button', { type: 'button', 'aria-label': 'Zoom in', title: 'Zoom in (+)', onclick: () => zoom(1.25) }, '+'),
      h('button', {
        type: 'button',
        title: 'Reset zoom, pan, window and crosshair (R)',
        onclick: () => {
          all((v) => v.reset());
          invert.checked = false;
          showZoom();
          showWl(...main.windowLevel());
        },
      }, 'Reset'),
    ),
    h('div', { class: 'group', role: 'group', 'aria-label': 'View' }, ...viewBtns),
    h('div', { class: 'group' }, cine),
  );
  return bar;
}

/** Voxel, LPS position and value under the crosshair. */
export function readout(viewer: Viewer, labels: ProtocolLabel[] = []): HTMLElement {
  const el = h('p', { class: 'readout', 'aria-label': 'Position and value', 'aria-live': 'off' });
  const names = new Map(labels.map((l) => [l.id, l.name]));
  const show = (l: Location) => {
    const s = viewer.sliceInfo();
    const value = l.value === null ? '–' : Number.isInteger(l.value) ? String(l.value) : l.value.toFixed(2);
    el.textContent = `Voxel (${l.voxel.join(', ')}) · LPS ${l.lps.map((c) => fmt(c)).join(', ')} mm · value ${value}${l.label ? ` · ${names.get(l.label) ?? `label ${l.label}`}` : ''} · slice ${s.index + 1}/${s.count}`;
    el.dataset.voxel = l.voxel.join(',');
    el.dataset.value = String(l.value);
  };
  viewer.onLocation(show);
  const now = viewer.location();
  if (now) show(now);
  return el;
}

export interface MaskToolsOptions {
  onUndoRedo?: () => void;
}

export const TOOL_KEYS: Record<string, Tool> = { n: 'navigate', w: 'window', p: 'pan', b: 'brush', e: 'eraser', f: 'fill', t: 'threshold' };

const TOOL_LABELS: Record<Tool, string> = { navigate: 'Navigate', window: 'Window/level', pan: 'Pan', brush: 'Brush', eraser: 'Eraser', fill: 'Fill outline', threshold: 'Threshold brush' };

/** Tools, palette and mask layer settings for an editable viewer. */
export function maskTools(viewer: Viewer, labels: ProtocolLabel[]): HTMLElement & { sync(): void } {
  const name = uid('tool');
  const toolInputs = new Map<Tool, HTMLInputElement>();
  const toolGroup = h(
    'fieldset',
    { class: 'tools' },
    h('legend', null, 'Tool'),
    ...(Object.keys(TOOL_LABELS) as Tool[]).map((t) => {
      const input = h('input', { type: 'radio', name, value: t, checked: viewer.tool === t, onchange: () => setTool(t) });
      toolInputs.set(t, input);
      const key = Object.entries(TOOL_KEYS).find(([, v]) => v === t)?.[0] ?? '';
      return h('label', { class: 'chip' }, input, h('span', null, TOOL_LABELS[t]), h('kbd', { 'aria-hidden': 'true' }, key.toUpperCase()));
    }),
  );
  const paletteName = uid('label');
  const labelInputs = new Map<number, HTMLInputElement>();
  const palette = h(
    'fieldset',
    { class: 'palette' },
    h('legend', null, 'Label'),
    ...labels.map((l, i) => {
      const input = h('input', { type: 'radio', name: paletteName, value: String(l.id), checked: viewer.penLabel === l.id, onchange: () => viewer.setPenLabel(l.id) });
      labelInputs.set(l.id, input);
      const vis = h('input', { type: 'checkbox', checked: viewer.labelVisible(l.id), 'aria-label': `Show ${l.name}`, onchange: () => viewer.setLabelVisible(l.id, vis.checked) });
      return h(
        'div',
        { class: 'label-row' },
        h('label', { class: 'chip' }, input, h('span', { class: 'swatch', style: `background:${l.color}`, 'aria-hidden': 'true' }), h('span', null, l.name), i < 9 ? h('kbd', { 'aria-hidden': 'true' }, String(i + 1)) : null),
        h('label', { class: 'vis', title: `Show or hide ${l.name}` }, vis, h('span', { class: 'small muted' }, 'show')),
      );
    }),
  );
  const size = h('input', { type: 'range', min: '1', max: '25', value: String(viewer.penSize), onInput: () => viewer.setPenSize(Number(size.value)) });
  const sizeField = h('label', { class: 'slider' }, 'Brush size ', size, h('kbd', { 'aria-hidden': 'true' }, '[ ]'));
  const lo = h('input', { type: 'number', class: 'num', value: String(viewer.threshold[0]), 'aria-label': 'Threshold minimum', onchange: () => viewer.setThreshold(Number(lo.value), Number(hi.value)) });
  const hi = h('input', { type: 'number', class: 'num', value: String(viewer.threshold[1]), 'aria-label': 'Threshold maximum', onchange: () => viewer.setThreshold(Number(lo.value), Number(hi.value)) });
  const fromWindow = h('button', {
    type: 'button',
    title: 'Use the current window as the threshold range',
    onclick: () => {
      const [w, l] = viewer.windowLevel();
      lo.value = String(Math.round(l - w / 2));
      hi.value = String(Math.round(l + w / 2));
      viewer.setThreshold(Number(lo.value), Number(hi.value));
    },
  }, 'From window');
  const thresholdField = h('div', { class: 'threshold', role: 'group', 'aria-label': 'Threshold brush range' }, h('span', null, 'Threshold range'), lo, h('span', { 'aria-hidden': 'true' }, '–'), hi, fromWindow);
  const undo = h('button', { type: 'button', title: 'Undo (Ctrl+Z)', onclick: () => viewer.undo() }, 'Undo');
  const redo = h('button', { type: 'button', title: 'Redo (Ctrl+Y)', onclick: () => viewer.redo() }, 'Redo');
  const visible = h('input', { type: 'checkbox', checked: true, onchange: () => viewer.setDrawingVisible(visible.checked) });
  const opacity = h('input', { type: 'range', min: '0', max: '1', step: '0.05', value: '0.45', onInput: () => viewer.setDrawingOpacity(Number(opacity.value)) });
  const el = h(
    'section',
    { class: 'panel mask-tools', 'aria-label': 'Mask tools' },
    toolGroup,
    palette,
    sizeField,
    thresholdField,
    h('div', { class: 'row' }, undo, redo),
    h('div', { class: 'row' }, h('label', { class: 'inline check' }, visible, 'Show mask'), h('label', { class: 'slider' }, 'Mask opacity ', opacity)),
  ) as HTMLElement & { sync(): void };
  const setTool = (t: Tool) => {
    viewer.setTool(t);
    el.sync();
  };
  el.sync = () => {
    toolInputs.forEach((input, t) => (input.checked = viewer.tool === t));
    labelInputs.forEach((input, id) => (input.checked = viewer.penLabel === id));
    size.value = String(viewer.penSize);
    undo.disabled = !viewer.canUndo();
    redo.disabled = !viewer.canRedo();
    thresholdField.classList.toggle('active', viewer.tool === 'threshold');
  };
  viewer.onChange(() => el.sync());
  el.sync();
  return el;
}

export const SHORTCUTS: [string, string][] = [
  ['N / W / P', 'Navigate, window/level drag, pan'],
  ['B / E / F / T', 'Brush, eraser, fill outline, threshold brush'],
  ['X / O / G', 'Box, point, polygon tool (protocols with shapes); the same key again turns it off'],
  ['Enter, Esc, Backspace', 'Close, cancel, or take back the last corner of a polygon'],
  ['Delete', 'Delete the selected shape'],
  ['1 … 9', 'Choose label 1 to 9 of the palette'],
  ['[ and ]', 'Smaller / larger brush'],
  ['Ctrl+Z, Ctrl+Y (Ctrl+Shift+Z)', 'Undo, redo'],
  ['↑ ↓ or Page Up / Page Down, mouse wheel', 'Previous / next slice'],
  ['+ and −, Ctrl + wheel', 'Zoom in / out'],
  ['R', 'Reset the view'],
  ['I', 'Invert grey levels'],
  ['M', 'Show / hide the mask'],
  ['Right-drag, middle-drag', 'Window/level, pan (in every tool)'],
  ['Ctrl+S', 'Save draft'],
  ['?', 'This help'],
];

export function shortcutsTable(): HTMLElement {
  return h(
    'table',
    { class: 'shortcuts' },
    h('caption', { class: 'visually-hidden' }, 'Keyboard shortcuts'),
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Keys'), h('th', { scope: 'col' }, 'Action'))),
    h('tbody', null, ...SHORTCUTS.map(([k, a]) => h('tr', null, h('td', null, h('kbd', null, k)), h('td', null, a)))),
  );
}

/** A modal dialog with a title and a close button (Esc closes too). */
export function dialog(title: string, body: HTMLElement): HTMLDialogElement & { present(): void } {
  const titleId = uid('dlg');
  const d = h('dialog', { class: 'dialog', 'aria-labelledby': titleId }, h('div', { class: 'dialog-head' }, h('h2', { id: titleId }, title), h('button', { type: 'button', class: 'close', onclick: () => d.close() }, 'Close')), body) as HTMLDialogElement & {
    present(): void;
  };
  d.present = () => {
    if (!d.isConnected) document.body.append(d);
    d.showModal();
  };
  return d;
}

/** Keyboard shortcuts of a workspace; ignored while typing in a field. Returns the remover. */
export function installShortcuts(
  viewers: Viewer[],
  extra: { tools?: HTMLElement & { sync(): void }; shapes?: ShapeEditor | null; labels?: ProtocolLabel[]; onSave?: () => void; onHelp?: () => void; onToggleMask?: () => void },
): () => void {
  const main = viewers[0];
  const handler = (e: KeyboardEvent) => {
    const t = e.target as HTMLElement | null;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable)) {
      // Letters still work on radios and checkboxes; arrows keep moving inside radio groups and sliders.
      if (!(t instanceof HTMLInputElement && (t.type === 'radio' || t.type === 'checkbox' || t.type === 'range'))) return;
      if (/^(Arrow|Page|Home|End)/.test(e.key)) return;
    }
    if (t && (t.tagName === 'BUTTON' || t.tagName === 'SUMMARY') && (e.key === ' ' || e.key === 'Enter')) return;
    if (document.querySelector('dialog[open]')) return;
    const key = e.key;
    const ctrl = e.ctrlKey || e.metaKey;
    let handled = true;
    if (!ctrl && !e.altKey && extra.shapes?.handleKey(e)) handled = true;
    else if (ctrl && (key === 'z' || key === 'Z')) (e.shiftKey ? main.redo() : main.undo());
    else if (ctrl && (key === 'y' || key === 'Y')) main.redo();
    else if (ctrl && (key === 's' || key === 'S')) extra.onSave?.();
    else if (ctrl || e.altKey) handled = false;
    else if (TOOL_KEYS[key.toLowerCase()] && main.editable) {
      main.setTool(TOOL_KEYS[key.toLowerCase()]);
      extra.tools?.sync();
    } else if (key.toLowerCase() === 'n' || key.toLowerCase() === 'w' || key.toLowerCase() === 'p') {
      viewers.forEach((v) => v.setTool(TOOL_KEYS[key.toLowerCase()]));
    } else if (/^[1-9]$/.test(key) && extra.labels?.[Number(key) - 1]) {
      main.setPenLabel(extra.labels[Number(key) - 1].id);
      extra.shapes?.setLabel(extra.labels[Number(key) - 1].id);
      extra.shapes?.changed(false);
      extra.tools?.sync();
    } else if (key === '[') main.setPenSize(main.penSize - 1), extra.tools?.sync();
    else if (key === ']') main.setPenSize(main.penSize + 1), extra.tools?.sync();
    // Linked viewers follow the first one's slice and zoom.
    else if (key === 'ArrowUp' || key === 'PageUp') main.scroll(1);
    else if (key === 'ArrowDown' || key === 'PageDown') main.scroll(-1);
    else if (key === '+' || key === '=') main.zoomBy(1.25), document.dispatchEvent(new Event(ZOOM_EVENT));
    else if (key === '-' || key === '_') main.zoomBy(0.8), document.dispatchEvent(new Event(ZOOM_EVENT));
    else if (key.toLowerCase() === 'r') viewers.forEach((v) => v.reset());
    else if (key.toLowerCase() === 'i') viewers.forEach((v) => v.setInverted(!v.inverted));
    else if (key.toLowerCase() === 'm') extra.onToggleMask?.();
    else if (key === '?') extra.onHelp?.();
    else handled = false;
    if (handled) {
      e.preventDefault();
      e.stopPropagation();
    }
  };
  // Capture phase, so NiiVue's own canvas key handling does not move the crosshair twice.
  document.addEventListener('keydown', handler, { capture: true });
  return () => {
    document.removeEventListener('keydown', handler, { capture: true });
  };
}
