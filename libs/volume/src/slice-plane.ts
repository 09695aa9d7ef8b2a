// The anatomical plane a series was acquired in, from its slice normal: what a radiologist calls an axial,
// coronal or sagittal series. Multi-plane MR (and CT) sets are linked into view groups by it at ingest.
//
// The slice normal is in DICOM patient coordinates (LPS): x runs to the patient's left (a sagittal slice's
// normal), y to posterior (coronal), z to superior (axial). The sign does not matter: a stack read from head to
// feet is as axial as one read from feet to head.
import { norm } from './affine';

export type SlicePlane = 'axial' | 'coronal' | 'sagittal' | 'oblique';

/**
 * Largest angle, in degrees, between the slice normal and the nearest patient axis for the series to still be
 * named after that axis. Scanners tilt "axial" brain series onto the AC-PC line and coronal knee or sagittal
 * spine series along the anatomy by up to 20-25°, and readers still call them axial, coronal or sagittal; past
 * 30° the slices are no longer close to any of the three (the largest possible angle is 54.7°, the diagonal).
 */
export const OBLIQUE_DEGREES = 30;

const AXIS_PLANES: SlicePlane[] = ['sagittal', 'coronal', 'axial'];

/**
 * The plane of slices with this normal (LPS, need not be unit length).
 * @throws Error when the normal is zero or not finite (no plane is defined).
 */
export function slicePlane(normal: readonly number[], obliqueDegrees = OBLIQUE_DEGREES): SlicePlane {
  const length = normal.length === 3 && normal.every(Number.isFinite) ? norm(normal) : 0;
  if (!(length > 0)) throw new Error(`A slice normal must be three finite numbers, not all zero (got [${normal.join(', ')}]): the series has no usable Image Orientation (Patient)`);
  const cosines = normal.map((v) => Math.abs(v) / length);
  const axis = cosines.indexOf(Math.max(...cosines));
  // Compared as cosines, so exactly 45° between two axes (equal cosines) is oblique at any threshold below 45°.
  return cosines[axis] >= Math.cos((obliqueDegrees * Math.PI) / 180) ? AXIS_PLANES[axis] : 'oblique';
}

/**
 * The plane of a 3D series (a stack of positioned slices, or a multi-frame volume), or null where the series has
 * no through-plane geometry (a single image, a 2D cine or stack without positions): there the normal is either
 * a default or says nothing about how the body was sliced.
 */
export function seriesPlane(geometry: { kind?: string | null; direction?: { normal?: readonly number[] | null } }, obliqueDegrees = OBLIQUE_DEGREES): SlicePlane | null {
  if (geometry.kind !== 'volume' && geometry.kind !== 'multi-frame-volume') return null;
  const normal = geometry.direction?.normal;
  if (!normal || normal.length !== 3 || !normal.every(Number.isFinite) || norm(normal) === 0) return null;
  return slicePlane(normal, obliqueDegrees);
}
