// The voxel grid a task's masks live on, inside the volume the viewer loads: a series task covers its series' volume;
// an image or frame-range task covers its slices of it, or, when its series is not one volume, its own image. Pure,
// so it is tested in Node (task-grid.spec.ts).
import type { SeriesGeometry, TaskDetail } from './api';

export interface TaskGrid {
  /** The mask's dims (what the server expects). */
  dims: [number, number, number];
  /** First slice of the mask inside the first series' volume (frames and image tasks cover part of a series). */
  z0: number;
}

/**
 * Each slice of the series' volume: its image and frame. The stored geometry names the image of each slice (`order`)
 * and, for series of multi-frame images, the frame (`frames`, 1-based); `slices` is the in-memory form (tests).
 */
function sliceRefs(g: SeriesGeometry): { id: string; frame: number }[] | null {
  if (g.slices) return g.slices;
  if (!g.order) return null;
  return g.order.map((id, k) => ({ id, frame: g.frames ? g.frames[k] - 1 : 0 }));
}

/** The grid a task's masks live on, inside the first series' volume (or the task's own image's). */
export function taskGrid(task: TaskDetail, volumeDims: [number, number, number]): TaskGrid {
  if (task.imageSource === 'instance') {
    // The task's image alone: all of its frames, the task's range of them.
    if (task.kind === 'frames') return { dims: [volumeDims[0], volumeDims[1], (task.frameEnd ?? 0) - (task.frameStart ?? 0) + 1], z0: task.frameStart ?? 0 };
    return { dims: volumeDims, z0: 0 };
  }
  const g = task.series[0]?.geometry;
  if (task.kind === 'series' || !task.instanceId || !g) return { dims: g?.dims ?? volumeDims, z0: 0 };
  const slices = sliceRefs(g);
  // Without the slice order: the grid the server checks masks against (its dims are right; its z0 is the image's or
  // the range's first frame).
  if (!slices) return task.grid ? { dims: task.grid.dims, z0: task.grid.z0 } : { dims: g.dims, z0: 0 };
  if (task.kind === 'frames') {
    const z0 = slices.findIndex((s) => s.id === task.instanceId && s.frame === (task.frameStart ?? 0));
    const nz = (task.frameEnd ?? 0) - (task.frameStart ?? 0) + 1;
    return { dims: [volumeDims[0], volumeDims[1], nz], z0: Math.max(0, z0) };
  }
  const z0 = slices.findIndex((s) => s.id === task.instanceId);
  const nz = slices.filter((s) => s.id === task.instanceId).length || 1;
  return { dims: [volumeDims[0], volumeDims[1], nz], z0: Math.max(0, z0) };
}
