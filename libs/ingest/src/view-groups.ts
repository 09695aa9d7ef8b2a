// View groups: series that show one body part from several views and are read together (the 'view-group'
// split policy puts a group in one task). Two rules, both pure:
//  - projection views: a mammogram (or similar) with a laterality and a view position (L-CC, R-MLO...) joins
//    its study's group for that body part;
//  - cross-sectional planes: the 3D MR (or CT) series of one study, modality and body part form a group once
//    they were acquired in at least two planes (axial + coronal, say). A study with axial series only keeps
//    one task per series.
import type { SlicePlane } from '@contour/volume';

/** Cross-sectional modalities whose series are linked by plane. */
export const MULTI_PLANE_MODALITIES: ReadonlySet<string> = new Set(['MR', 'CT']);

const bodyPartKey = (bodyPart: string | null | undefined) => bodyPart?.trim().toUpperCase() || null;

/** The group of a projection view (e.g. "L-CC") of a series, or null without one. Kept as it always was. */
export function projectionViewGroup(studyId: string, view: string | null, series: { modality: string; bodyPart: string | null }): string | null {
  return view ? `${studyId}:${series.bodyPart ?? series.modality}` : null;
}

/** The group the multi-plane rule gives a study's series of this modality and body part. */
export function multiPlaneViewGroup(studyId: string, modality: string, bodyPart: string | null): string {
  const part = bodyPartKey(bodyPart);
  return `${studyId}:planes:${modality.toUpperCase()}${part ? `:${part}` : ''}`;
}

export interface SeriesForViewGroups {
  id: string;
  modality: string;
  bodyPart: string | null;
  qcStatus: string;
  /** From the series geometry (seriesPlane); null for a series with no 3D geometry. */
  plane: SlicePlane | null;
  /** The view group the series has now. */
  viewGroup: string | null;
}

/**
 * The view group each series of one study should have by the multi-plane rule, for the series the rule decides:
 * MR and CT series whose group is unset or the rule's own (a projection view's group is left alone). A series
 * joins when it has a plane and passed its geometry check; its group, when the study holds series of its
 * modality and body part in two planes or more. Decided for the whole study at once, so a series arriving in a
 * new plane links the siblings that arrived before it (and one leaving, e.g. failing a re-check, unlinks them).
 */
export function multiPlaneViewGroups(studyId: string, series: SeriesForViewGroups[]): Map<string, string | null> {
  const ruled = series.filter((s) => MULTI_PLANE_MODALITIES.has(s.modality.toUpperCase()) && (s.viewGroup === null || s.viewGroup.startsWith(`${studyId}:planes:`)));
  const keyOf = (s: SeriesForViewGroups) => multiPlaneViewGroup(studyId, s.modality, s.bodyPart);
  const member = (s: SeriesForViewGroups) => s.plane !== null && (s.qcStatus === 'ok' || s.qcStatus === 'warning');
  const planes = new Map<string, Set<SlicePlane>>();
  for (const s of ruled.filter(member)) planes.set(keyOf(s), (planes.get(keyOf(s)) ?? new Set()).add(s.plane!));
  return new Map(ruled.map((s) => [s.id, member(s) && planes.get(keyOf(s))!.size >= 2 ? keyOf(s) : null]));
}
