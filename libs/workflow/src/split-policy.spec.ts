import { ExistingFrameRange, SeriesForSplit, splitStudy, TaskSpec, withoutOverlappingFrames } from './split-policy';

const series = (over: Partial<SeriesForSplit>): SeriesForSplit => ({ id: 's1', modality: 'CT', kind: 'volume', instanceIds: ['i1', 'i2', 'i3'], frames: 1, qcStatus: 'ok', ...over });

describe('splitStudy', () => {
  it.each([
    ['series policy: one task per 3D series', [series({})], 'series', ['series:s1']],
    ['image policy: one task per image', [series({ kind: 'single-image' })], 'image', ['image:i1', 'image:i2', 'image:i3']],
    ['frames policy on cine: frame ranges', [series({ modality: 'US', kind: 'multi-frame-2d', instanceIds: ['u1'], frames: 120 })], 'frames', ['frames:u1:0-49', 'frames:u1:50-99', 'frames:u1:100-119']],
    ['frames policy keeps 3D series whole', [series({})], 'frames', ['series:s1']],
    ['failed and pending QC and non-image series are skipped', [series({ id: 'a', qcStatus: 'failed' }), series({ id: 'b', qcStatus: 'pending' }), series({ id: 'c', modality: 'SR' }), series({ id: 'd', qcStatus: 'warning' })], 'series', ['series:d']],
    [
      'view groups: the four mammography views in one task',
      [series({ id: 'lcc', modality: 'MG', kind: 'single-image', viewGroup: 'g1' }), series({ id: 'rcc', modality: 'MG', kind: 'single-image', viewGroup: 'g1' }), series({ id: 'lmlo', modality: 'MG', kind: 'single-image', viewGroup: 'g1' }), series({ id: 'rmlo', modality: 'MG', kind: 'single-image', viewGroup: 'g1' }), series({ id: 'x', modality: 'MG', kind: 'single-image' })],
      'view-group',
      ['view-group:g1', 'view-group:x'],
    ],
    ['held images: a series task waits while one of its images is held', [series({ id: 'a', heldInstanceIds: ['i2'] }), series({ id: 'b' })], 'series', ['series:b']],
    // The viewer loads a task's whole series, which annotators may not have while one of its images is held.
    ['held images: no image task of a series while one of its images is held', [series({ kind: 'single-image', heldInstanceIds: ['i2'] }), series({ id: 's2', kind: 'single-image', instanceIds: ['j1'] })], 'image', ['image:j1']],
    ['held images: no frame range of a series while one of its cines is held', [series({ modality: 'US', kind: 'multi-frame-2d', instanceIds: ['u1', 'u2'], frames: 60, heldInstanceIds: ['u1'] })], 'frames', []],
    [
      'held images: a view group waits while one of its views is held',
      [series({ id: 'lcc', modality: 'MG', kind: 'single-image', viewGroup: 'g1', heldInstanceIds: ['i1'] }), series({ id: 'rcc', modality: 'MG', kind: 'single-image', viewGroup: 'g1' }), series({ id: 'x', modality: 'MG', kind: 'single-image' })],
      'view-group',
      ['view-group:x'],
    ],
    ['held images: an empty held list holds nothing', [series({ heldInstanceIds: [] })], 'series', ['series:s1']],
    // Excluded for good: the series goes on without the image (its volume has the slice blanked).
    ['excluded images: the series task is made without them', [series({ excludedInstanceIds: ['i2'] })], 'series', ['series:s1']],
    ['excluded images: no image task of their own, the other images have theirs', [series({ kind: 'single-image', excludedInstanceIds: ['i2'] })], 'image', ['image:i1', 'image:i3']],
    ['excluded images: no frame ranges of an excluded cine, the other cine has them', [series({ modality: 'US', kind: 'multi-frame-2d', instanceIds: ['u1', 'u2'], frames: 60, excludedInstanceIds: ['u1'] })], 'frames', ['frames:u2:0-49', 'frames:u2:50-59']],
    ['excluded images: a series with nothing else makes no task', [series({ excludedInstanceIds: ['i1', 'i2', 'i3'] }), series({ id: 'b' })], 'series', ['series:b']],
    [
      'excluded images: a view group goes on without the excluded view, and one with nothing else drops that series',
      [series({ id: 'lcc', modality: 'MG', kind: 'single-image', viewGroup: 'g1', instanceIds: ['l1'], excludedInstanceIds: ['l1'] }), series({ id: 'rcc', modality: 'MG', kind: 'single-image', viewGroup: 'g1', instanceIds: ['r1', 'r2'], excludedInstanceIds: ['r2'] })],
      'view-group',
      ['view-group:g1'],
    ],
    ['excluded and held images: a held image still holds the series', [series({ excludedInstanceIds: ['i1'], heldInstanceIds: ['i2'] })], 'series', []],
    // A series that cannot be stacked (a PA and a lateral radiograph of different sizes) is read image by image.
    ['failed geometry, image policy: each image by itself', [series({ modality: 'CR', kind: 'single-image', instanceIds: ['pa', 'lat'], qcStatus: 'failed' })], 'image', ['image:lat', 'image:pa']],
    ['failed geometry, series policy: no task (it cannot be one volume)', [series({ modality: 'CR', kind: 'single-image', instanceIds: ['pa', 'lat'], qcStatus: 'failed' })], 'series', []],
    ['failed geometry, view-group policy: no task', [series({ modality: 'MG', kind: 'single-image', viewGroup: 'g1', qcStatus: 'failed' })], 'view-group', []],
    [
      'failed geometry, frames policy: a cine in frame ranges, a still image whole, each on its own grid',
      [series({ modality: 'US', kind: 'multi-frame-2d', instanceIds: ['c', 's'], frames: 60, instanceFrames: [60, 1], qcStatus: 'failed' })],
      'frames',
      ['frames:c:0-49', 'frames:c:50-59', 'image:s'],
    ],
    ['failed geometry: a held image still holds the series', [series({ kind: 'single-image', qcStatus: 'failed', heldInstanceIds: ['i1'] })], 'image', []],
    ['failed geometry: a NIfTI volume still makes no task', [series({ instanceIds: [], source: 'nifti', qcStatus: 'failed' })], 'image', []],
    // Each cine is cut by its own length (all were cut by the longest: ranges past the end of a shorter one).
    ['frames policy: cines of different lengths', [series({ modality: 'US', kind: 'multi-frame-2d', instanceIds: ['u1', 'u2'], frames: 70, instanceFrames: [70, 30] })], 'frames', ['frames:u1:0-49', 'frames:u1:50-69', 'frames:u2:0-29']],
  ] as [string, SeriesForSplit[], 'series' | 'image' | 'frames' | 'view-group', string[]][])('%s', (_name, input, policy, keys) => {
    expect(splitStudy(input, policy).map((t) => t.splitKey)).toEqual(keys);
  });

  it('a view group without its excluded-only series holds the others', () => {
    const [task] = splitStudy(
      [series({ id: 'lcc', modality: 'MG', kind: 'single-image', viewGroup: 'g1', instanceIds: ['l1'], excludedInstanceIds: ['l1'] }), series({ id: 'rcc', modality: 'MG', kind: 'single-image', viewGroup: 'g1', instanceIds: ['r1'] })],
      'view-group',
    );
    expect(task.seriesIds).toEqual(['rcc']);
  });

  it('an uploaded NIfTI volume (no instances) is one 3D task whatever the policy', () => {
    expect(splitStudy([series({ instanceIds: [], source: 'nifti', modality: 'MR' })], 'image').map((t) => t.splitKey)).toEqual(['series:s1']);
  });

  it('is deterministic whatever the input order (idempotent splitting relies on it)', () => {
    const a = splitStudy([series({ instanceIds: ['i3', 'i1', 'i2'], kind: 'single-image' })], 'image');
    const b = splitStudy([series({ instanceIds: ['i2', 'i3', 'i1'], kind: 'single-image' })], 'image');
    expect(a).toEqual(b);
  });

  it('view-group tasks list their series sorted', () => {
    const [t] = splitStudy([series({ id: 'b', viewGroup: 'g' }), series({ id: 'a', viewGroup: 'g' })], 'view-group');
    expect(t.seriesIds).toEqual(['a', 'b']);
  });
});

describe('withoutOverlappingFrames', () => {
  const frames = (instanceId: string, frameStart: number, frameEnd: number): TaskSpec => ({ splitKey: `frames:${instanceId}:${frameStart}-${frameEnd}`, kind: 'frames', seriesIds: ['s1'], instanceId, frameStart, frameEnd, modality: 'US' });
  const existing = (instanceId: string, frameStart: number, frameEnd: number): ExistingFrameRange => ({ splitKey: `frames:${instanceId}:${frameStart}-${frameEnd}`, instanceId, frameStart, frameEnd });
  it.each([
    ['nothing existing: all kept', [frames('u', 0, 29)], [], ['frames:u:0-29']],
    // A 30-frame cine once cut by a 70-frame one: 0-49 and 50-69 exist; the split now proposes 0-29.
    ['a range over frames that have a task under an older key: left out', [frames('u', 0, 29)], [existing('u', 0, 49), existing('u', 50, 69)], []],
    ['the same key: kept (the insert finds it and adds nothing)', [frames('u', 0, 29)], [existing('u', 0, 29)], ['frames:u:0-29']],
    ['another image: kept', [frames('v', 0, 29)], [existing('u', 0, 49)], ['frames:v:0-29']],
    ['a range after the existing ones: kept', [frames('u', 50, 99)], [existing('u', 0, 49)], ['frames:u:50-99']],
    ['touching by one frame: left out', [frames('u', 49, 60)], [existing('u', 0, 49)], []],
    ['other kinds: kept', [{ splitKey: 'image:u', kind: 'image', seriesIds: ['s1'], instanceId: 'u', modality: 'US' } as TaskSpec], [existing('u', 0, 49)], ['image:u']],
  ] as [string, TaskSpec[], ExistingFrameRange[], string[]][])('%s', (_name, specs, have, keys) => {
    expect(withoutOverlappingFrames(specs, have).map((t) => t.splitKey)).toEqual(keys);
  });
});
