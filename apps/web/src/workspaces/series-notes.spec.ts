import { excludedNote, seriesCaption, viewText } from './series-notes';

describe('excludedNote', () => {
  it.each([
    ['no geometry', null, null],
    ['nothing excluded', {}, null],
    ['an empty list', { excluded: [] }, null],
    ['one image', { excluded: ['a'] }, '1 image of this series was excluded after a privacy review: its slice is blank.'],
    ['several', { excluded: ['a', 'b', 'c'] }, '3 images of this series were excluded after a privacy review: their slices are blank.'],
  ])('%s', (_case, geometry, note) => {
    expect(excludedNote(geometry)).toBe(note);
  });
});

describe('viewText', () => {
  it.each([
    ['no view', null, null],
    ['left craniocaudal', 'L-CC', 'L CC (left)'],
    ['right mediolateral oblique', 'R-MLO', 'R MLO (right)'],
    ['both sides', 'B-AP', 'B AP (both sides)'],
    ['an unknown laterality is kept', 'X-CC', 'X CC'],
    ['no view position', 'L', 'L'],
  ])('%s', (_case, view, text) => {
    expect(viewText(view)).toBe(text);
  });
});

describe('seriesCaption', () => {
  it.each([
    ['a CT series holding the mask', { modality: 'CT', description: 'Chest', view: null }, true, 'CT · Chest · mask'],
    ['a mammography view', { modality: 'MG', description: null, view: 'L-MLO' }, false, 'MG · L MLO (left)'],
    ['an older API without views', { modality: 'MR', description: '' }, false, 'MR'],
  ])('%s', (_case, series, holdsMask, caption) => {
    expect(seriesCaption(series, holdsMask)).toBe(caption);
  });
});
