// The voxel grid a task's masks live on, inside the volume the viewer loads: a series task covers its series' volume;
// an image or frame-range task covers its slices of it, or, when its series is not one volume, its own image. Pure,
// so it is tested in Node (task-grid.spec.ts).
import type { TaskDetail } from './api';

export interface TaskGrid {
  /** The mask's dims (what the server expects). */
  dims: [number, number, number];
  /** First slice of the mask inside the first series' volume (frames and image tasks cover part of a series). */
  z0: number;
}

/** The grid a task's masks live on, inside the first series' volume (or the task's own image's). */
export function taskGrid(task: TaskDetail, volumeDims: [number, number, number]): TaskGrid {
  if (task.imageSource === 'instance') {
    // The task's image alone: all of its frames, the task's range of them.
    if (task.kind === 'frames') return { dims: [volumeDims[0], volumeDims[1], (task.frameEnd ?? 0) - (task.frameStart ?? 0) + 1], z0: task.frameStart ?? 0 };
    return { dims: volumeDims, z0: 0 };
  }
  const g = task.series[0]?.geometry;
  if (task.kind === 'series' || !task.instanceId || !g?.slices) return { dims: g?.dims ?? volumeDims, z0: 0 };
  const slices = g.slices;
  if (task.kind === 'frames') {
    const z0 = slices.findIndex((s) => s.id === task.instanceId && s.frame === (task.frameStart ?? 0));
    const nz = (task.frameEnd ?? 0) - (task.frameStart ?? 0) + 1;
    return { dims: [volumeDims[0], volumeDims[1], nz], z0: Math.max(0, z0) };
  }
  const z0 = slices.findIndex((s) => s.id === task.instanceId);
  const nz = slices.filter((s) => s.id === task.instanceId).length || 1;
  return { dims: [volumeDims[0], volumeDims[1], nz], z0: Math.max(0, z0) };
}
