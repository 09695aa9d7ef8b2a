// How a study becomes tasks. Pure: given the study's series, the policy gives the task specs, each with a
// deterministic split key, so re-running the split creates nothing twice (the key is unique per project).

import type { SplitPolicy } from './project-settings';

export interface SeriesForSplit {
  id: string;
  modality: string;
  /** 'volume' | 'single-image' | 'multi-frame-2d' | 'multi-frame-volume' (from the geometry), or null if unknown. */
  kind: string | null;
  instanceIds: string[];
  /** The most frames of any of its instances. */
  frames: number;
  /** Frames of each instance, in `instanceIds` order (each is `frames` when absent). */
  instanceFrames?: number[];
  /** Mammography and similar: which view this is (e.g. "L-CC"), if known. */
  view?: string | null;
  viewGroup?: string | null;
  qcStatus: string;
  /** 'nifti' volumes have no instances: they are split as one 3D task. */
  source?: 'dicom' | 'nifti';
  /** Instances held for a manager's privacy look (burned-in text): no task shows them until cleared. */
  heldInstanceIds?: string[];
  /**
   * Instances a manager excluded for good after that look: they make no task of their own, and the series goes on
   * without them (its volume has their slices blanked). A series of nothing else makes no task.
   */
  excludedInstanceIds?: string[];
}

export interface TaskSpec {
  splitKey: string;
  kind: 'series' | 'image' | 'frames' | 'view-group';
  seriesIds: string[];
  instanceId?: string;
  frameStart?: number;
  frameEnd?: number;
  modality: string;
}

const NON_IMAGE = new Set(['SR', 'PR', 'KO', 'RTSTRUCT', 'RTPLAN', 'RTDOSE', 'SEG', 'ECG', 'DOC', 'REG']);

/** The series' instances that can be shown: all but those excluded after a privacy review. */
const shownInstances = (s: SeriesForSplit) => (s.excludedInstanceIds?.length ? s.instanceIds.filter((id) => !s.excludedInstanceIds!.includes(id)) : s.instanceIds);

/**
 * A series whose geometry check failed cannot be stacked into one volume (images of different sizes, such as a
 * PA and a lateral radiograph in one series; mixed orientations; missing positions). Each of its images can still
 * be read by itself, on its own grid: image and frame-range tasks of it are made, a series or view-group task is
 * not.
 */
const perImageOnly = (s: Pick<SeriesForSplit, 'qcStatus' | 'source'>) => s.qcStatus === 'failed' && s.source !== 'nifti';

/**
 * What an image or frame-range task is drawn on: its series' volume (the task's slices of it), or, when that series
 * is not one volume, its own image alone ([columns, rows, frames]). Series and view-group tasks: their series.
 */
export function taskImageSource(task: { kind: string; instanceId?: string | null }, firstSeries: Pick<SeriesForSplit, 'qcStatus' | 'source'> | undefined): 'series' | 'instance' {
  return (task.kind === 'image' || task.kind === 'frames') && task.instanceId && firstSeries && perImageOnly(firstSeries) ? 'instance' : 'series';
}

/**
 * Series that can be annotated under `policy`: image modalities with an image to show whose geometry check is done
 * and did not fail (or failed, when `policy` reads each image by itself).
 */
export const annotatable = (s: SeriesForSplit, policy: SplitPolicy = 'series') =>
  !NON_IMAGE.has(s.modality.toUpperCase()) &&
  s.qcStatus !== 'pending' &&
  (s.qcStatus !== 'failed' || (perImageOnly(s) && (policy === 'image' || policy === 'frames'))) &&
  (shownInstances(s).length > 0 || s.source === 'nifti');

/**
 * The study's tasks under `policy`. A series with a held image (privacy review) makes no task of any kind until
 * none of its images is held: the viewer and pre-labelling load a task's whole series, which is refused to
 * annotators while one of its images is held; and a task is never made without an image it should have had (its
 * split key would stop a later split from adding it). A view group waits for all of its series. An image excluded
 * for good holds nothing: it makes no image or frame-range task, and the series or group is annotated without it.
 */
export function splitStudy(series: SeriesForSplit[], policy: SplitPolicy, framesPerTask = 50): TaskSpec[] {
  const held = (s: SeriesForSplit) => (s.heldInstanceIds?.length ?? 0) > 0;
  const usable = series.filter((s) => annotatable(s, policy));
  const specs: TaskSpec[] = [];
  if (policy === 'view-group') {
    const groups = new Map<string, SeriesForSplit[]>();
    for (const s of usable) {
      const key = s.viewGroup ?? `series:${s.id}`;
      groups.set(key, [...(groups.get(key) ?? []), s]);
    }
    for (const [key, members] of groups) {
      if (members.some(held)) continue;
      const ids = members.map((m) => m.id).sort();
      specs.push({ splitKey: `view-group:${key.startsWith('series:') ? ids[0] : key}`, kind: 'view-group', seriesIds: ids, modality: members[0].modality });
    }
    return specs;
  }
  for (const s of usable.filter((x) => !held(x))) {
    const multiFrame2d = s.kind === 'multi-frame-2d';
    const framesOf = (instanceId: string) => s.instanceFrames?.[s.instanceIds.indexOf(instanceId)] ?? s.frames;
    const image = (instanceId: string) => specs.push({ splitKey: `image:${instanceId}`, kind: 'image', seriesIds: [s.id], instanceId, modality: s.modality });
    const frameRanges = (instanceId: string) => {
      const frames = framesOf(instanceId);
      for (let start = 0; start < frames; start += framesPerTask) {
        const end = Math.min(start + framesPerTask, frames) - 1;
        specs.push({ splitKey: `frames:${instanceId}:${start}-${end}`, kind: 'frames', seriesIds: [s.id], instanceId, frameStart: start, frameEnd: end, modality: s.modality });
      }
    };
    const instances = () => [...shownInstances(s)].sort();
    if (perImageOnly(s)) {
      // Not one volume: each image by itself, a cine (under the frames policy) in frame ranges.
      for (const instanceId of instances()) (policy === 'frames' && framesOf(instanceId) > 1 ? frameRanges : image)(instanceId);
    } else if (policy === 'frames' && multiFrame2d) {
      for (const instanceId of instances()) frameRanges(instanceId);
    } else if (s.source !== 'nifti' && (policy === 'image' || (policy === 'frames' && !multiFrame2d && s.kind !== 'volume' && s.kind !== 'multi-frame-volume'))) {
      for (const instanceId of instances()) image(instanceId);
    } else {
      specs.push({ splitKey: `series:${s.id}`, kind: 'series', seriesIds: [s.id], modality: s.modality });
    }
  }
  return specs;
}

/** An existing frame-range task of a study (not cancelled), as far as the split needs it. */
export interface ExistingFrameRange {
  splitKey: string;
  instanceId: string;
  frameStart: number;
  frameEnd: number;
}

/**
 * `specs` less the frame ranges that overlap an existing frame-range task of the same image under another key: the
 * split adds nothing over frames that already have a task. (Ranges were once cut by the longest cine of a series for
 * every cine in it; the tasks made that way stay, and a split since, which cuts each cine by its own length, would
 * otherwise add a second task over the same frames.)
 */
export function withoutOverlappingFrames(specs: TaskSpec[], existing: ExistingFrameRange[]): TaskSpec[] {
  if (!existing.length) return specs;
  return specs.filter(
    (spec) =>
      spec.kind !== 'frames' ||
      !existing.some((e) => e.instanceId === spec.instanceId && e.splitKey !== spec.splitKey && e.frameStart <= spec.frameEnd! && spec.frameStart! <= e.frameEnd),
  );
}
