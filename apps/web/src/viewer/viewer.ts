// One image viewer: a NiiVue canvas with Contour's tools on top. Window/level, zoom, pan, invert, slice
// scrolling, orthogonal views, cine, a readout in the file's voxel indices and DICOM LPS millimetres, label
// overlays (pre-label, other readers, merged, disagreement), and an editable mask with brush, eraser, fill,
// a threshold-limited brush and undo/redo. The mask is exchanged in the file's voxel order (see label-map.ts);
// NiiVue's drawing bitmap stays in its own RAS order inside this class.
import { cmapper, DRAG_MODE, Niivue, NVImage, SHOW_RENDER, SLICE_TYPE } from '@niivue/niivue';
import type { ProtocolLabel } from '../api';
import { applyAffine, drawingToNative, invertAffine, Mat4, nativeIndexOfRas, nativeToDrawing, nativeXyz, rasToLps, RasMapping, voxelCount } from '../label-map';

export type Tool = 'navigate' | 'window' | 'pan' | 'brush' | 'eraser' | 'fill' | 'threshold';
export type View = 'axial' | 'coronal' | 'sagittal' | 'multiplanar';

export interface Location {
  /** Voxel indices in the file's order (the order of Contour's masks). */
  voxel: [number, number, number];
  /** DICOM patient coordinates, mm. */
  lps: [number, number, number];
  /** Image value at the voxel (stored value x slope + intercept). */
  value: number | null;
  /** Mask label under the crosshair (0 = none). */
  label: number;
}

interface Diff {
  idx: Uint32Array;
  before: Uint8Array;
  after: Uint8Array;
}

interface Overlay {
  image: NVImage;
  opacity: number;
  visible: boolean;
  colors: Map<number, string>;
}

const hexToRgb = (hex: string): [number, number, number] => [parseInt(hex.slice(1, 3), 16), parseInt(hex.slice(3, 5), 16), parseInt(hex.slice(5, 7), 16)];

const SLICE: Record<View, SLICE_TYPE> = { axial: SLICE_TYPE.AXIAL, coronal: SLICE_TYPE.CORONAL, sagittal: SLICE_TYPE.SAGITTAL, multiplanar: SLICE_TYPE.MULTIPLANAR };

export class Viewer {
  readonly nv: Niivue;
  readonly canvas: HTMLCanvasElement;
  readonly host: HTMLElement;
  volume: NVImage | null = null;
  dims: [number, number, number] = [0, 0, 0];
  affine: Mat4 = [];
  private inverse: Mat4 = [];
  mapping: RasMapping | null = null;
  private scale = { slope: 1, inter: 0 };
  tool: Tool = 'navigate';
  view: View = 'axial';
  penLabel = 1;
  penSize = 3;
  threshold: [number, number] = [-100, 200];
  private labels: ProtocolLabel[] = [];
  private hidden = new Set<number>();
  private drawingVisible = true;
  private drawingOpacity = 0.45;
  private undoStack: Diff[] = [];
  private redoStack: Diff[] = [];
  private before: Uint8Array | null = null;
  private overlays = new Map<string, Overlay>();
  private cineTimer: number | null = null;
  private listeners = { change: [] as (() => void)[], location: [] as ((l: Location) => void)[], window: [] as ((w: number, l: number) => void)[], tool: [] as ((t: Tool) => void)[] };
  readonly editable: boolean;
  inverted = false;

  constructor(host: HTMLElement, opts: { label: string; editable?: boolean }) {
    this.host = host;
    this.editable = opts.editable ?? false;
    this.canvas = document.createElement('canvas');
    this.canvas.setAttribute('aria-label', opts.label);
    this.canvas.setAttribute('role', 'application');
    this.canvas.setAttribute('aria-roledescription', 'image viewer');
    this.canvas.className = 'viewer-canvas';
    host.append(this.canvas);
    this.nv = new Niivue({
      backColor: [0, 0, 0, 1],
      show3Dcrosshair: false,
      isColorbar: false,
      isOrientCube: false,
      dragAndDropEnabled: false,
      multiplanarShowRender: SHOW_RENDER.NEVER,
      isRadiologicalConvention: true,
      crosshairColor: [0.1, 0.8, 1, 0.7],
      crosshairWidth: 0.3,
      // Contour owns the keyboard: move NiiVue's own hot keys out of the way.
      clipPlaneHotKey: 'F20',
      viewModeHotKey: 'F21',
      cycleClipPlaneHotKey: 'F22',
      dragMode: DRAG_MODE.windowing,
      dragModePrimary: DRAG_MODE.crosshair,
      mouseEventConfig: { leftButton: { primary: DRAG_MODE.crosshair }, rightButton: DRAG_MODE.windowing, centerButton: DRAG_MODE.pan },
      isNearestInterpolation: true,
      penSize: this.penSize,
      maxDrawUndoBitmaps: 2,
      logLevel: 'error',
      loadingText: 'Loading image...',
    } as never);
    this.nv.onLocationChange = () => this.emitLocation();
    // Stroke bookkeeping: snapshot before NiiVue sees the mouse (capture), diff after its mouseup handler.
    this.canvas.addEventListener('mousedown', (e) => this.strokeStart(e), { capture: true });
    window.addEventListener('mouseup', this.onMouseUp);
    this.canvas.addEventListener('mousemove', (e) => {
      if (e.buttons) this.emitWindow();
    });
    this.canvas.addEventListener('wheel', (e) => this.onWheel(e), { capture: true, passive: false });
  }

  async attach() {
    await this.nv.attachToCanvas(this.canvas);
  }

  /**
   * Loads the series volume (an uncompressed .nii: the API sends it over HTTP gzip) and shows it. NiiVue
   * rebuilds its whole 3D volume texture whenever the window or a colour table changes (all slices through a
   * shader: seconds for a 512x512 CT in software WebGL), so the starting window is set on the image before it
   * is added, and the drawing's colour table is changed without that rebuild (applyDrawLut): one build per load.
   */
  async load(buffer: ArrayBuffer, modality: string) {
    const vol = await NVImage.loadFromUrl({ url: 'series.nii', name: 'series.nii', buffer });
    this.defaultPreset = modality === 'CT' ? 'mediastinum' : 'auto';
    const [lo, hi] = presetRange(this.defaultPreset, vol);
    vol.cal_min = lo;
    vol.cal_max = hi;
    this.nv.addVolume(vol);
    this.volume = vol;
    const hdr = vol.hdr!;
    this.dims = [hdr.dims[1], hdr.dims[2], Math.max(1, hdr.dims[3])];
    this.affine = (hdr.affine as number[][]).map((r) => [...r]);
    this.inverse = invertAffine(this.affine);
    this.scale = { slope: hdr.scl_slope || 1, inter: hdr.scl_slope ? hdr.scl_inter || 0 : 0 };
    const v = vol as unknown as { dimsRAS: number[]; img2RASstep: number[]; img2RASstart: number[] };
    this.mapping = { dims: this.dims, dimsRAS: [v.dimsRAS[1], v.dimsRAS[2], v.dimsRAS[3]], step: v.img2RASstep as [number, number, number], start: v.img2RASstart as [number, number, number] };
    if (this.editable) {
      this.nv.createEmptyDrawing();
      this.applyDrawLut();
      this.nv.setDrawOpacity(this.drawingOpacity);
    }
    this.setView('axial');
    this.setTool('navigate');
    this.nv.drawScene();
    this.emitLocation();
  }

  /** Blocks until the GPU has finished everything asked of it so far (a one-pixel read-back). */
  waitForGpu() {
    const gl = (this.nv as unknown as { gl: WebGL2RenderingContext | null }).gl;
    gl?.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, new Uint8Array(4));
  }

  get is3D() {
    return this.dims[2] > 1;
  }

  // ---- display ------------------------------------------------------------------------------------------

  windowLevel(): [number, number] {
    const v = this.volume;
    if (!v) return [0, 0];
    const lo = v.cal_min ?? 0;
    const hi = v.cal_max ?? 1;
    return [hi - lo, (hi + lo) / 2];
  }

  setWindowLevel(width: number, level: number) {
    const v = this.volume;
    if (!v) return;
    const w = Math.max(1, width);
    v.cal_min = level - w / 2;
    v.cal_max = level + w / 2;
    this.nv.updateGLVolume();
    this.emitWindow();
  }

  applyPreset(name: string) {
    const v = this.volume;
    if (!v) return;
    const [lo, hi] = presetRange(name, v);
    this.setWindowLevel(hi - lo, (hi + lo) / 2);
  }

  setInverted(on: boolean) {
    if (!this.volume) return;
    this.inverted = on;
    (this.volume as unknown as { colormapInvert: boolean }).colormapInvert = on;
    this.nv.updateGLVolume();
  }

  zoom(): number {
    return this.nv.scene.pan2Dxyzmm[3];
  }

  setZoom(z: number) {
    const p = this.nv.scene.pan2Dxyzmm;
    this.nv.setPan2Dxyzmm([p[0], p[1], p[2], Math.min(20, Math.max(0.2, z))] as never);
  }

  zoomBy(f: number) {
    this.setZoom(this.zoom() * f);
  }

  reset() {
    this.nv.setPan2Dxyzmm([0, 0, 0, 1] as never);
    this.setInverted(false);
    this.nv.scene.crosshairPos = [0.5, 0.5, 0.5] as never;
    this.applyPreset(this.defaultPreset);
    this.nv.drawScene();
    this.emitLocation();
  }

  /** The preset a fresh view starts with (mediastinum for CT, the image's range otherwise). */
  defaultPreset = 'auto';

  setView(view: View) {
    this.view = view;
    this.nv.setSliceType(SLICE[view]);
  }

  /** Moves one slice along the axis the (first) view looks down. */
  scroll(delta: number) {
    if (!this.volume) return;
    const axis = this.view === 'coronal' ? 1 : this.view === 'sagittal' ? 0 : 2;
    const d = [0, 0, 0];
    d[axis] = delta;
    this.nv.moveCrosshairInVox(d[0], d[1], d[2]);
    this.emitLocation();
  }

  /** The slice index along the view axis and the number of slices (RAS order, as shown). */
  sliceInfo(): { index: number; count: number } {
    const m = this.mapping;
    if (!m) return { index: 0, count: 0 };
    const axis = this.view === 'coronal' ? 1 : this.view === 'sagittal' ? 0 : 2;
    const count = m.dimsRAS[axis];
    const frac = this.nv.scene.crosshairPos[axis];
    return { index: Math.min(count - 1, Math.max(0, Math.floor(frac * count))), count };
  }

  /** Cine: plays the slices (frames of a 2D+time series) in a loop. */
  play(fps = 10) {
    this.stop();
    this.cineTimer = window.setInterval(() => {
      const { index, count } = this.sliceInfo();
      const next = (index + 1) % count;
      const axis = this.view === 'coronal' ? 1 : this.view === 'sagittal' ? 0 : 2;
      const pos = [...this.nv.scene.crosshairPos];
      pos[axis] = (next + 0.5) / count;
      this.nv.scene.crosshairPos = pos as never;
      this.nv.drawScene();
      this.emitLocation();
    }, 1000 / fps);
  }

  stop() {
    if (this.cineTimer !== null) window.clearInterval(this.cineTimer);
    this.cineTimer = null;
  }

  get playing() {
    return this.cineTimer !== null;
  }

  /** Centres the crosshair (and the slice shown) on a voxel given in the file's order. */
  jumpTo(voxel: readonly number[]) {
    const mm = applyAffine(this.affine, voxel);
    this.nv.scene.crosshairPos = this.nv.mm2frac(mm as never) as never;
    this.nv.drawScene();
    this.nv.createOnLocationChange();
    this.emitLocation();
  }

  /** Canvas CSS pixel position of a voxel (file order) in the first tile showing it; for tests and tools. */
  canvasPositionOf(voxel: readonly number[]): [number, number] | null {
    const mm = applyAffine(this.affine, voxel);
    const frac = this.nv.mm2frac(mm as never);
    const pos = this.nv.frac2canvasPos(frac);
    if (!pos) return null;
    const dpr = (this.nv as unknown as { uiData: { dpr: number } }).uiData.dpr || 1;
    return [pos[0] / dpr, pos[1] / dpr];
  }

  /**
   * Continuous pixel coordinates (x, y; pixel (i, j) covers [i, i+1) x [j, j+1), as Contour's shapes use)
   * of a mouse position, and the slice shown; null outside the image or when the view is not the image's plane.
   */
  pixelAt(clientX: number, clientY: number): { x: number; y: number; slice: number } | null {
    if (!this.volume || this.view !== this.planeView()) return null;
    const rect = this.canvas.getBoundingClientRect();
    const dpr = (this.nv as unknown as { uiData: { dpr: number } }).uiData.dpr || 1;
    const frac = this.nv.canvasPos2frac([(clientX - rect.left) * dpr, (clientY - rect.top) * dpr]);
    if (!frac || frac[0] < 0) return null;
    const mm = this.nv.frac2mm(frac as never);
    const v = applyAffine(this.inverse, [mm[0], mm[1], mm[2]]);
    return { x: v[0] + 0.5, y: v[1] + 0.5, slice: this.location()?.voxel[2] ?? 0 };
  }

  /** Canvas CSS position of a point given in shape pixel coordinates on slice `slice`. */
  canvasOfPixel(x: number, y: number, slice: number): [number, number] | null {
    return this.canvasPositionOf([x - 0.5, y - 0.5, slice]);
  }

  /** The view that shows the file's own image plane (its first two axes): where shapes are drawn. */
  planeView(): View {
    const m = this.mapping;
    if (!m) return 'axial';
    const sliceStride = m.dims[0] * m.dims[1];
    // The displayed (RAS) axis the file's third axis runs along; a single slice: the RAS axis of size 1.
    let axis = m.step.findIndex((s, r) => Math.abs(s) === sliceStride && m.dimsRAS[r] === m.dims[2] && m.dims[2] > 1);
    if (axis < 0) axis = m.dimsRAS.findIndex((d, r) => d === 1 && Math.abs(m.step[r]) !== 1);
    return axis === 0 ? 'sagittal' : axis === 1 ? 'coronal' : 'axial';
  }

  /** A token that changes whenever what the canvas shows moves (slice, zoom, pan, view, size). */
  viewSignature(): string {
    const s = this.nv.scene;
    return `${this.view}|${Array.from(s.pan2Dxyzmm).join(',')}|${Array.from(s.crosshairPos).join(',')}|${this.canvas.width}x${this.canvas.height}`;
  }

  // ---- location readout ---------------------------------------------------------------------------------

  location(): Location | null {
    if (!this.volume) return null;
    const mm = this.nv.frac2mm(this.nv.scene.crosshairPos as never);
    const f = applyAffine(this.inverse, [mm[0], mm[1], mm[2]]);
    const voxel = f.map((c, i) => Math.min(this.dims[i] - 1, Math.max(0, Math.round(c)))) as [number, number, number];
    const ni = voxel[0] + this.dims[0] * (voxel[1] + this.dims[1] * voxel[2]);
    const img = this.volume.img as ArrayLike<number> | null;
    const value = img ? img[ni] * this.scale.slope + this.scale.inter : null;
    const ras = applyAffine(this.affine, voxel);
    let label = 0;
    const bmp = this.nv.drawBitmap;
    if (bmp && this.mapping) {
      // RAS index of the voxel: search is avoided by going through NiiVue's own frac -> RAS voxel.
      const rv = this.nv.frac2vox(this.nv.scene.crosshairPos as never);
      const m = this.mapping!;
      label = bmp[rv[0] + m.dimsRAS[0] * (rv[1] + m.dimsRAS[1] * rv[2])] ?? 0;
    }
    return { voxel, lps: rasToLps(ras), value, label };
  }

  private emitLocation() {
    const l = this.location();
    if (l) for (const fn of this.listeners.location) fn(l);
  }

  private emitWindow() {
    const [w, l] = this.windowLevel();
    for (const fn of this.listeners.window) fn(w, l);
  }

  onLocation(fn: (l: Location) => void) {
    this.listeners.location.push(fn);
  }

  onWindow(fn: (w: number, l: number) => void) {
    this.listeners.window.push(fn);
  }

  /** Fires after every edit of the mask (stroke, undo, redo, load). */
  onChange(fn: () => void) {
    this.listeners.change.push(fn);
  }

  private emitChange() {
    for (const fn of this.listeners.change) fn();
  }

  // ---- tools --------------------------------------------------------------------------------------------

  setTool(tool: Tool) {
    const drawing = this.editable && (tool === 'brush' || tool === 'eraser' || tool === 'fill' || tool === 'threshold');
    this.tool = drawing || tool === 'navigate' || tool === 'window' || tool === 'pan' ? tool : 'navigate';
    const primary = tool === 'window' ? DRAG_MODE.windowing : tool === 'pan' ? DRAG_MODE.pan : DRAG_MODE.crosshair;
    this.nv.opts.dragModePrimary = primary;
    (this.nv.opts as { mouseEventConfig?: unknown }).mouseEventConfig = { leftButton: { primary }, rightButton: DRAG_MODE.windowing, centerButton: DRAG_MODE.pan };
    this.nv.setDrawingEnabled(drawing);
    if (drawing) {
      this.nv.setPenValue(tool === 'eraser' ? 0 : this.penLabel, tool === 'fill');
      this.nv.opts.penSize = this.penSize;
    }
    this.canvas.dataset.tool = this.tool;
    for (const fn of this.listeners.tool) fn(this.tool);
  }

  /** Fires whenever the tool changes (shape tools step aside when a mask tool is picked). */
  onTool(fn: (t: Tool) => void) {
    this.listeners.tool.push(fn);
  }

  setPenLabel(id: number) {
    this.penLabel = id;
    this.setTool(this.tool);
  }

  setPenSize(n: number) {
    this.penSize = Math.max(1, Math.min(50, Math.round(n)));
    this.nv.opts.penSize = this.penSize;
  }

  setThreshold(lo: number, hi: number) {
    this.threshold = [Math.min(lo, hi), Math.max(lo, hi)];
  }

  // ---- the editable mask --------------------------------------------------------------------------------

  setLabels(labels: ProtocolLabel[]) {
    this.labels = labels;
    if (this.editable && this.volume) this.applyDrawLut();
  }

  private applyDrawLut() {
    const R = [0];
    const G = [0];
    const B = [0];
    const A = [0];
    const I = [0];
    const names = ['background'];
    for (const l of this.labels) {
      const [r, g, b] = hexToRgb(l.color);
      R.push(r);
      G.push(g);
      B.push(b);
      A.push(this.drawingVisible && !this.hidden.has(l.id) ? 255 : 0);
      I.push(l.id);
      names.push(l.name);
    }
    // What setDrawColormap does, without its full rebuild of the volume texture: the drawing's colours live
    // in the colour-table texture only.
    const nv = this.nv as unknown as { drawLut: unknown; refreshColormaps(): void };
    nv.drawLut = cmapper.makeDrawLut({ R, G, B, A, I, labels: names } as never);
    if (this.volume) nv.refreshColormaps();
    this.nv.drawScene();
  }

  setLabelVisible(id: number, visible: boolean) {
    if (visible) this.hidden.delete(id);
    else this.hidden.add(id);
    if (this.editable && this.volume) this.applyDrawLut();
    for (const o of this.overlays.values()) this.applyOverlayLut(o);
    this.nv.updateGLVolume();
  }

  labelVisible(id: number) {
    return !this.hidden.has(id);
  }

  setDrawingVisible(on: boolean) {
    this.drawingVisible = on;
    this.applyDrawLut();
    this.nv.setDrawOpacity(on ? this.drawingOpacity : 0);
  }

  setDrawingOpacity(o: number) {
    this.drawingOpacity = o;
    if (this.drawingVisible) this.nv.setDrawOpacity(o);
  }

  /** The mask in the file's voxel order. */
  getMask(): Uint8Array {
    const bmp = this.nv.drawBitmap;
    if (!bmp || !this.mapping) return new Uint8Array(voxelCount(this.dims));
    return drawingToNative(bmp, this.mapping);
  }

  /** Replaces the mask (file voxel order); clears undo/redo. */
  setMask(native: Uint8Array) {
    if (!this.mapping) return;
    if (!this.nv.drawBitmap) this.nv.createEmptyDrawing();
    nativeToDrawing(native, this.mapping, this.nv.drawBitmap!);
    this.nv.refreshDrawing(true);
    this.undoStack = [];
    this.redoStack = [];
    this.emitChange();
  }

  canUndo() {
    return this.undoStack.length > 0;
  }

  canRedo() {
    return this.redoStack.length > 0;
  }

  undo() {
    const d = this.undoStack.pop();
    if (!d) return;
    this.applyDiff(d.idx, d.before);
    this.redoStack.push(d);
    this.emitChange();
  }

  redo() {
    const d = this.redoStack.pop();
    if (!d) return;
    this.applyDiff(d.idx, d.after);
    this.undoStack.push(d);
    this.emitChange();
  }

  private applyDiff(idx: Uint32Array, values: Uint8Array) {
    const bmp = this.nv.drawBitmap;
    if (!bmp) return;
    for (let i = 0; i < idx.length; i++) bmp[idx[i]] = values[i];
    this.nv.refreshDrawing(true);
  }

  private isDrawingTool() {
    return this.tool === 'brush' || this.tool === 'eraser' || this.tool === 'fill' || this.tool === 'threshold';
  }

  private strokeStart(e: MouseEvent) {
    if (e.button !== 0 || !this.isDrawingTool() || !this.nv.drawBitmap) return;
    this.before = this.nv.drawBitmap.slice();
  }

  private onMouseUp = () => {
    this.emitWindow();
    if (!this.before) return;
    const before = this.before;
    this.before = null;
    // NiiVue finishes the stroke (and fills an outline) in its own mouseup handler; look after it.
    window.setTimeout(() => this.strokeEnd(before), 0);
  };

  private strokeEnd(before: Uint8Array) {
    const bmp = this.nv.drawBitmap;
    if (!bmp || bmp.length !== before.length) return;
    const changed = changedVoxels(before, bmp);
    if (this.tool === 'threshold' && changed.length && this.volume && this.mapping) {
      // Threshold-limited brush: keep only painted voxels whose image value is inside the range.
      const img = this.volume.img as ArrayLike<number>;
      const [lo, hi] = this.threshold;
      let reverted = false;
      for (let k = 0; k < changed.length; k++) {
        const i = changed[k];
        const v = img[nativeIndexOfRas(this.mapping, i)] * this.scale.slope + this.scale.inter;
        if (v < lo || v > hi) {
          bmp[i] = before[i];
          changed[k] = -1;
          reverted = true;
        }
      }
      if (reverted) this.nv.refreshDrawing(true);
    }
    const kept = changed.filter((i) => i >= 0);
    if (!kept.length) return;
    const idx = Uint32Array.from(kept);
    const b = new Uint8Array(idx.length);
    const a = new Uint8Array(idx.length);
    for (let k = 0; k < idx.length; k++) {
      b[k] = before[idx[k]];
      a[k] = bmp[idx[k]];
    }
    this.undoStack.push({ idx, before: b, after: a });
    if (this.undoStack.length > 100) this.undoStack.shift();
    this.redoStack = [];
    this.emitChange();
  }

  private onWheel(e: WheelEvent) {
    // Ctrl + wheel zooms (in every tool); a plain wheel scrolls slices (NiiVue's default).
    if (!e.ctrlKey) return;
    e.preventDefault();
    e.stopPropagation();
    this.zoomBy(e.deltaY < 0 ? 1.15 : 1 / 1.15);
  }

  // ---- overlays -----------------------------------------------------------------------------------------

  /**
   * Runs `fn` (several overlays added or removed, colour tables changed) with one rebuild of NiiVue's volume
   * texture at the end instead of one per change: each rebuild renders every slice of every layer (seconds for
   * a CT in software WebGL).
   */
  batch(fn: () => void) {
    const nv = this.nv as unknown as { updateGLVolume(): void };
    let pending = false;
    nv.updateGLVolume = () => {
      pending = true;
    };
    try {
      fn();
    } finally {
      delete (nv as { updateGLVolume?: unknown }).updateGLVolume; // the prototype's method again
      if (pending) this.nv.updateGLVolume();
    }
  }

  /** Adds (or replaces) a read-only label layer from a map in the file's voxel order. */
  setOverlay(key: string, native: Uint8Array, colors: Map<number, string>, opacity = 0.5, visible = true) {
    if (!this.volume) return;
    this.removeOverlay(key);
    // What NVImage.clone() does, without first copying the (possibly 300 MB) image it would then replace.
    const image = new NVImage();
    const internals = image as unknown as { hdr: unknown; img: unknown; calculateRAS(): void; calMinMax(): void };
    internals.hdr = { ...this.volume.hdr, datatypeCode: 2, numBitsPerVoxel: 8, scl_slope: 1, scl_inter: 0 };
    internals.img = native;
    internals.calculateRAS();
    internals.calMinMax();
    image.name = key;
    const o: Overlay = { image, opacity, visible, colors };
    this.applyOverlayLut(o);
    image.opacity = visible ? opacity : 0;
    this.overlays.set(key, o);
    this.nv.addVolume(image);
  }

  private applyOverlayLut(o: Overlay) {
    const R = [0];
    const G = [0];
    const B = [0];
    const A = [0];
    const I = [0];
    for (const [id, color] of o.colors) {
      const [r, g, b] = hexToRgb(color);
      R.push(r);
      G.push(g);
      B.push(b);
      A.push(this.hidden.has(id) ? 0 : 255);
      I.push(id);
    }
    o.image.colormapLabel = cmapper.makeLabelLut({ R, G, B, A, I } as never);
  }

  setOverlayVisible(key: string, visible: boolean) {
    const o = this.overlays.get(key);
    if (!o) return;
    o.visible = visible;
    o.image.opacity = visible ? o.opacity : 0;
    this.nv.updateGLVolume();
  }

  setOverlayOpacity(key: string, opacity: number) {
    const o = this.overlays.get(key);
    if (!o) return;
    o.opacity = opacity;
    if (o.visible) o.image.opacity = opacity;
    this.nv.updateGLVolume();
  }

  overlayVisible(key: string) {
    return this.overlays.get(key)?.visible ?? false;
  }

  removeOverlay(key: string) {
    const o = this.overlays.get(key);
    if (!o) return;
    this.nv.removeVolume(o.image);
    this.overlays.delete(key);
  }

  /** Keeps zoom, pan and crosshair of several viewers together (linked views). */
  static link(viewers: Viewer[]) {
    for (const v of viewers) {
      const others = viewers.filter((o) => o !== v).map((o) => o.nv);
      if (others.length) v.nv.broadcastTo(others, { '2d': true, '3d': true, zoomPan: true, crosshair: true } as never);
    }
  }

  /** Position of a native voxel index, for the readout of a mask voxel. */
  voxelOf(index: number) {
    return nativeXyz(index, this.dims);
  }

  destroy() {
    this.stop();
    window.removeEventListener('mouseup', this.onMouseUp);
    try {
      (this.nv as unknown as { cleanup?: () => void }).cleanup?.();
    } catch {
      /* already gone */
    }
    const gl = this.canvas.getContext('webgl2');
    gl?.getExtension('WEBGL_lose_context')?.loseContext();
    this.canvas.remove();
  }
}

/** Indices where two bitmaps differ; compares 4 bytes at a time (a stroke touches few of millions of voxels). */
function changedVoxels(a: Uint8Array, b: Uint8Array): number[] {
  const out: number[] = [];
  const words = a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0 ? Math.floor(a.length / 4) : 0;
  const a32 = new Uint32Array(a.buffer, a.byteOffset, words);
  const b32 = new Uint32Array(b.buffer, b.byteOffset, words);
  for (let w = 0; w < words; w++) {
    if (a32[w] === b32[w]) continue;
    for (let i = w * 4; i < w * 4 + 4; i++) if (a[i] !== b[i]) out.push(i);
  }
  for (let i = words * 4; i < a.length; i++) if (a[i] !== b[i]) out.push(i);
  return out;
}

export const PRESETS: Record<string, { label: string; width: number; level: number; modalities: string[] }> = {
  lung: { label: 'Lung (W1500 L−600)', width: 1500, level: -600, modalities: ['CT'] },
  mediastinum: { label: 'Mediastinum (W350 L50)', width: 350, level: 50, modalities: ['CT'] },
  bone: { label: 'Bone (W2000 L500)', width: 2000, level: 500, modalities: ['CT'] },
  brain: { label: 'Brain (W80 L40)', width: 80, level: 40, modalities: ['CT'] },
};

/** [min, max] of a preset's window; 'auto' is NiiVue's robust range (2nd-98th percentile) of the image. */
function presetRange(name: string, v: NVImage): [number, number] {
  const preset = PRESETS[name];
  if (preset) return [preset.level - preset.width / 2, preset.level + preset.width / 2];
  const lo = (v as unknown as { robust_min?: number }).robust_min ?? v.global_min ?? 0;
  const hi = (v as unknown as { robust_max?: number }).robust_max ?? v.global_max ?? 1;
  return [lo, Math.max(hi, lo + 1)];
}

export function presetsFor(modality: string): { key: string; label: string }[] {
  const list = Object.entries(PRESETS)
    .filter(([, p]) => p.modalities.includes(modality))
    .map(([key, p]) => ({ key, label: p.label }));
  return [...list, { key: 'auto', label: modality === 'CT' ? 'Auto (image range)' : `Auto (${modality || 'image'} range)` }];
}
