// Notes shown over a series in the viewer (pure, so they are unit-tested without a browser).
import type { SeriesGeometry } from '../api';

/** What to tell a reader about a series' images excluded after a privacy review (blank slices), or null. */
export function excludedNote(geometry: Pick<SeriesGeometry, 'excluded'> | null): string | null {
  const n = geometry?.excluded?.length ?? 0;
  if (!n) return null;
  return `${n === 1 ? '1 image' : `${n} images`} of this series ${n === 1 ? 'was' : 'were'} excluded after a privacy review: ${n === 1 ? 'its slice is' : 'their slices are'} blank.`;
}
