// What the annotator and reviewer workspaces share: a task's series in linked viewers (the first one carries
// the editable mask), the task's mask grid inside the first series' volume, mask download and upload in the
// file's voxel order, and the time-to-first-image measurement.
import { api, TaskDetail } from '../api';
import { h } from '../dom';
import { encodeMask, inflateLabelMap, placeZ, sliceZ, voxelCount } from '../label-map';
import { Viewer } from '../viewer/viewer';
import { excludedNote, seriesCaption, viewText } from './series-notes';
import { TaskGrid, taskGrid } from '../task-grid';


export interface LoadMetrics {
  /** ms from opening the task to the first image on screen. */
  firstImageMs: number;
  fetchMs: number;
  decodeMs: number;
  bytes: number;
  dims: [number, number, number];
}


export interface TaskImages {
  viewers: Viewer[];
  primary: Viewer;
  grid: TaskGrid;
  metrics: LoadMetrics;
  /** The primary viewer's mask, cut to the task grid, ready to send. */
  maskForServer(): string;
  /** A server mask (deflated, task grid) as a full-volume map in the file's voxel order. */
  fetchMask(versionId: string): Promise<Uint8Array>;
}

/** A series volume (or one image's) and how long its download took. */
async function timedVolume(projectId: string, seriesId: string, instanceId?: string): Promise<{ buf: ArrayBuffer; fetchMs: number }> {
  const t0 = performance.now();
  const buf = await api.volume(projectId, seriesId, instanceId);
  return { buf, fetchMs: performance.now() - t0 };
}

/** Creates one viewer per series in `host`, loads the volumes, links them. */
export async function openTaskImages(projectId: string, task: TaskDetail, host: HTMLElement, started: number, opts: { editable: boolean }): Promise<TaskImages> {
  // The first series' download starts now, while the viewers set up WebGL (shader compilation takes a few
  // hundred ms in software rendering): the two overlap instead of adding up.
  const firstFetch = timedVolume(projectId, task.series[0].id, task.imageSource === 'instance' ? task.instanceId! : undefined);
  firstFetch.catch(() => undefined); // awaited below; this only keeps a failure during set-up from going unhandled
  host.classList.toggle('multi', task.series.length > 1);
  const viewers: Viewer[] = [];
  let metrics: LoadMetrics | null = null;
  for (const [i, s] of task.series.entries()) {
    const note = i === 0 && task.imageSource === 'instance' ? null : excludedNote(s.geometry);
    const cell = h(
      'div',
      { class: 'viewer-cell' },
      h('p', { class: 'viewer-caption' }, seriesCaption(s, i === 0 && opts.editable)),
      note ? h('p', { class: 'viewer-note', role: 'note' }, note) : null,
    );
    host.append(cell);
    const named = [viewText(s.view), s.description].filter(Boolean).join(', ');
    const v = new Viewer(cell, { label: `${s.modality} image ${i + 1} of ${task.series.length}${named ? `: ${named}` : ''}. Use the arrow keys to change slice.`, editable: opts.editable && i === 0 });
    await v.attach();
    viewers.push(v);
  }
  // The first series decides the time to first image; the others load after it.
  const loadOne = async (v: Viewer, seriesId: string, modality: string, fetched = timedVolume(projectId, seriesId)) => {
    const { buf, fetchMs } = await fetched;
    const t1 = performance.now();
    await v.load(buf, modality);
    await new Promise<void>((r) => requestAnimationFrame(() => r()));
    // WebGL queues its work: reading one pixel back waits until the first picture is really drawn (in software
    // rendering, building NiiVue's volume texture finishes seconds after the calls that asked for it return).
    v.waitForGpu();
    const t2 = performance.now();
    return { fetchMs, decodeMs: t2 - t1, bytes: buf.byteLength, firstImageMs: t2 - started, dims: v.dims };
  };
  metrics = await loadOne(viewers[0], task.series[0].id, task.series[0].modality, firstFetch);
  for (let i = 1; i < viewers.length; i++) await loadOne(viewers[i], task.series[i].id, task.series[i].modality);
  if (viewers.length > 1) Viewer.link(viewers);
  const primary = viewers[0];
  const grid = taskGrid(task, primary.dims);
  if (opts.editable && (grid.dims[0] !== primary.dims[0] || grid.dims[1] !== primary.dims[1] || grid.z0 + grid.dims[2] > primary.dims[2])) {
    throw new Error(`The task's mask grid ${grid.dims.join('×')} does not fit the image ${primary.dims.join('×')}; this task cannot be annotated here.`);
  }
  // An image or frame-range task of a series opens on its own slices (the volume loads centred on the series).
  if (grid.dims[2] < primary.dims[2]) primary.jumpTo([Math.floor(primary.dims[0] / 2), Math.floor(primary.dims[1] / 2), grid.z0]);
  return {
    viewers,
    primary,
    grid,
    metrics,
    maskForServer: () => encodeMask(sliceZ(primary.getMask(), primary.dims, grid.z0, grid.dims[2])),
    async fetchMask(versionId: string) {
      const deflated = await api.labelMask(projectId, task.id, versionId);
      const slab = inflateLabelMap(deflated, voxelCount(grid.dims));
      return placeZ(slab, primary.dims, grid.z0);
    },
  };
}

/** Test and diagnostics hook: the workspace's viewer and measurements (read by the end-to-end test). */
export function exposeForTests(value: Record<string, unknown>) {
  (window as unknown as { contour?: Record<string, unknown> }).contour = value;
}
