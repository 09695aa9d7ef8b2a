import type { SeriesGeometry, TaskDetail } from './api';
import { taskGrid } from './task-grid';

// A series of three single-frame images (a, b, c) and a two-image cine series (u with 4 frames, v with 2), as the task
// view gives them (the stored geometry: each slice's image in `order`, and its 1-based frame in `frames` for series of
// multi-frame images). The in-memory form (`slices`) was the only one read: the grid of every image and frame-range
// task was the whole series, and their masks were refused.
const stack = { kind: 'volume', dims: [64, 48, 3], order: ['a', 'b', 'c'] } as unknown as SeriesGeometry;
const cines = { kind: 'multi-frame-2d', dims: [64, 48, 6], order: ['u', 'u', 'u', 'u', 'v', 'v'], frames: [1, 2, 3, 4, 1, 2] } as unknown as SeriesGeometry;
const inMemory = { kind: 'volume', dims: [64, 48, 3], slices: [{ id: 'a', frame: 0 }, { id: 'b', frame: 0 }, { id: 'c', frame: 0 }] } as unknown as SeriesGeometry;
const orderless = { kind: 'volume', dims: [64, 48, 3] } as unknown as SeriesGeometry;
const task = (over: Partial<TaskDetail>, geometry: SeriesGeometry | null): TaskDetail =>
  ({ kind: 'series', instanceId: null, frameStart: null, frameEnd: null, imageSource: 'series', series: [{ id: 's', modality: 'CT', description: null, geometry }], ...over }) as TaskDetail;

describe('taskGrid', () => {
  it.each([
    ['a series task: the whole volume', task({}, stack), [64, 48, 3], { dims: [64, 48, 3], z0: 0 }],
    ['a series task without geometry yet: the loaded volume', task({}, null), [10, 10, 2], { dims: [10, 10, 2], z0: 0 }],
    ['an image task: its slice of the series', task({ kind: 'image', instanceId: 'b' }, stack), [64, 48, 3], { dims: [64, 48, 1], z0: 1 }],
    ['a frame-range task: its frames of its cine in the series', task({ kind: 'frames', instanceId: 'u', frameStart: 2, frameEnd: 3 }, cines), [64, 48, 6], { dims: [64, 48, 2], z0: 2 }],
    ['a frame-range task of the second cine', task({ kind: 'frames', instanceId: 'v', frameStart: 0, frameEnd: 1 }, cines), [64, 48, 6], { dims: [64, 48, 2], z0: 4 }],
    // A series that is not one volume (images of different sizes): the image's own volume is loaded.
    ['an image task on its own image', task({ kind: 'image', instanceId: 'b', imageSource: 'instance' }, stack), [24, 36, 1], { dims: [24, 36, 1], z0: 0 }],
    ['a frame-range task on its own cine: its range of the cine', task({ kind: 'frames', instanceId: 'u', frameStart: 2, frameEnd: 3, imageSource: 'instance' }, cines), [32, 32, 4], { dims: [32, 32, 2], z0: 2 }],
    ['an image task of a geometry in memory (slices)', task({ kind: 'image', instanceId: 'c' }, inMemory), [64, 48, 3], { dims: [64, 48, 1], z0: 2 }],
    ["without the slice order: the server's grid", task({ kind: 'image', instanceId: 'c', grid: { dims: [64, 48, 1], z0: 2 } }, orderless), [64, 48, 3], { dims: [64, 48, 1], z0: 2 }],
  ] as [string, TaskDetail, [number, number, number], { dims: number[]; z0: number }][])('%s', (_name, t, volumeDims, expected) => {
    expect(taskGrid(t, volumeDims)).toEqual(expected);
  });
});
