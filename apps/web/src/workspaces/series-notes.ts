// Notes shown over a series in the viewer (pure, so they are unit-tested without a browser).
import type { SeriesGeometry, TaskSeries } from '../api';

/** What to tell a reader about a series' images excluded after a privacy review (blank slices), or null. */
export function excludedNote(geometry: Pick<SeriesGeometry, 'excluded'> | null): string | null {
  const n = geometry?.excluded?.length ?? 0;
  if (!n) return null;
  return `${n === 1 ? '1 image' : `${n} images`} of this series ${n === 1 ? 'was' : 'were'} excluded after a privacy review: ${n === 1 ? 'its slice is' : 'their slices are'} blank.`;
}

const LATERALITY: Record<string, string> = { L: 'left', R: 'right', B: 'both sides', U: 'unpaired' };

/** A view as a reader says it: "L-CC" is "L CC (left)", an unknown laterality is kept as it came. */
export function viewText(view: string | null | undefined): string | null {
  if (!view) return null;
  const [side, ...position] = view.split('-');
  const name = LATERALITY[side];
  return position.length && name ? `${side} ${position.join('-')} (${name})` : view.replace(/-/g, ' ');
}

/** The caption over a series' viewer: modality, view (mammography's "L CC"), description, and whether it holds the mask. */
export function seriesCaption(s: Pick<TaskSeries, 'modality' | 'description' | 'view'>, holdsMask: boolean): string {
  return [s.modality, viewText(s.view), s.description || null, holdsMask ? 'mask' : null].filter(Boolean).join(' · ');
}
