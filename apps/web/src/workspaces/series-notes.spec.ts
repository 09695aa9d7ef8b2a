import { excludedNote } from './series-notes';

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
