// Series geometry: from per-image position/orientation records to one voxel grid (dims, spacing, affine) plus the
// quality problems a person should know about before trusting it as a volume. Pure: no DICOM parsing here (see
// dicom-geometry.ts), so it can be tested with hand-built slices.
//
// Conventions (the same as ITK, dcm2niix before its flips, and DICOM itself):
//   voxel i runs along the row direction cosine (IOP[0..2]), across columns, spaced PixelSpacing[1];
//   voxel j runs along the column direction cosine (IOP[3..5]), down rows, spaced PixelSpacing[0];
//   voxel k runs along the slice normal row x column, slices sorted by their position projected on it, so
//   k increases with the normal and the LPS affine is right-handed (positive determinant).
// The slice order is always geometric. InstanceNumber is only a tie-breaker and the order for stacks without
// positions, because scanners number slices in acquisition order, which may run either way.
import { affineFromColumns, cross, dot, lpsToRas, norm, normalize, scale, sub, type Mat4, type Vec3 } from './affine';

export interface FrameGeometry {
  imagePositionPatient?: number[];
  imageOrientationPatient?: number[];
  pixelSpacing?: number[];
}

/** What the geometry needs from one DICOM instance (see instanceGeometryFromDicom for the extraction). */
export interface InstanceGeometry {
  /** Caller's key for the instance, usually the SOP Instance UID; returned in the slice order. */
  id: string;
  /** (0020,0032), LPS mm, position of the centre of the first transmitted pixel. */
  imagePositionPatient?: number[];
  /** (0020,0037), row then column direction cosines. */
  imageOrientationPatient?: number[];
  /** (0028,0030): [spacing between rows, spacing between columns] in mm (note: row spacing first). */
  pixelSpacing?: number[];
  sliceThickness?: number;
  spacingBetweenSlices?: number;
  rows: number;
  columns: number;
  numberOfFrames: number;
  instanceNumber?: number;
  /** Per-frame values of an enhanced multi-frame (or un-tiled mosaic); they override the instance-level ones. */
  frames?: FrameGeometry[];
}

export type SeriesKind = 'volume' | 'single-image' | 'multi-frame-2d' | 'multi-frame-volume';

export type GeometryIssueCode =
  | 'mixed-orientation'
  | 'mixed-dimensions'
  | 'mixed-pixel-spacing'
  | 'missing-position'
  | 'missing-pixel-spacing'
  | 'duplicate-position'
  | 'missing-slices'
  | 'uneven-spacing'
  | 'gantry-tilt';

export interface GeometryIssue {
  code: GeometryIssueCode;
  /** 'error': the grid does not describe the images faithfully; 'warning': usable, but a person should know. */
  severity: 'error' | 'warning';
  /** A sentence for the person looking at the series: what is wrong and what to do. */
  message: string;
  /** Instances concerned, when the problem is local. */
  ids?: string[];
  details?: Record<string, number | string | number[]>;
}

export interface SliceRef {
  id: string;
  /** Frame index inside the instance (0 for single-frame instances). */
  frame: number;
  position?: Vec3;
  /** Position projected on the slice normal, mm (0 when there is no position). */
  distance: number;
}

export interface SeriesGeometry {
  kind: SeriesKind;
  /** [columns, rows, slices]. */
  dims: [number, number, number];
  /** mm per voxel along i, j, k. sz is the median slice step along the normal (1 for 2D stacks). */
  spacing: Vec3;
  /** Unit vectors in LPS: row (i), column (j), and the slice normal row x column. */
  direction: { row: Vec3; column: Vec3; normal: Vec3 };
  /** LPS position of voxel (0, 0, 0): the first slice after sorting. */
  origin: Vec3;
  /** Voxel index (i, j, k, 1) to DICOM patient LPS mm. */
  affineLps: Mat4;
  /** The same grid in NIfTI RAS mm: diag(-1, -1, 1, 1) * affineLps. */
  affineRas: Mat4;
  /** Instance ids in slice order (an id repeats for each frame of a multi-frame instance). */
  order: string[];
  slices: SliceRef[];
  issues: GeometryIssue[];
}

export interface GeometryTolerances {
  /** Largest difference between direction cosines still counted as the same orientation (default 1e-3, ~0.06°). */
  orientation?: number;
  /** Largest relative pixel spacing difference (default 1e-3). */
  pixelSpacing?: number;
  /** Slices closer than this along the normal are duplicates, mm (default 0.01). */
  duplicate?: number;
  /** A step longer than this multiple of the median step is a gap (default 1.5). */
  gapFactor?: number;
  /** Largest relative deviation of a step from the median before spacing counts as uneven (default 0.01). */
  unevenSpacing?: number;
  /** Largest angle between the slice normal and the direction the slices advance, degrees (default 0.1). */
  tiltDegrees?: number;
}

const DEFAULT_TOLERANCES: Required<GeometryTolerances> = {
  orientation: 1e-3,
  pixelSpacing: 1e-3,
  duplicate: 0.01,
  gapFactor: 1.5,
  unevenSpacing: 0.01,
  tiltDegrees: 0.1,
};

interface Candidate {
  id: string;
  frame: number;
  instanceNumber?: number;
  rows: number;
  columns: number;
  position?: Vec3;
  orientation?: { row: Vec3; column: Vec3 };
  pixelSpacing?: [number, number];
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function asPosition(v: number[] | undefined): Vec3 | undefined {
  return v && v.length >= 3 && v.slice(0, 3).every(finite) ? [v[0], v[1], v[2]] : undefined;
}

function asOrientation(v: number[] | undefined): { row: Vec3; column: Vec3 } | undefined {
  if (!v || v.length < 6 || !v.slice(0, 6).every(finite)) return undefined;
  const row = normalize(v.slice(0, 3));
  const column = normalize(v.slice(3, 6));
  // Zero vectors or parallel cosines cannot define a plane: treat as absent rather than divide by zero later.
  if (norm(row) === 0 || norm(column) === 0 || norm(cross(row, column)) < 0.5) return undefined;
  return { row, column };
}

function asSpacing(v: number[] | undefined): [number, number] | undefined {
  return v && v.length >= 2 && finite(v[0]) && finite(v[1]) && v[0] > 0 && v[1] > 0 ? [v[0], v[1]] : undefined;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const unique = (ids: string[]) => [...new Set(ids)];
const fmt = (v: number, digits = 2) => Number(v.toFixed(digits)).toString();
const listIds = (ids: string[], max = 3) => (ids.length <= max ? ids.join(', ') : `${ids.slice(0, max).join(', ')} and ${ids.length - max} more`);

function byInstanceThenFrame(a: Candidate, b: Candidate): number {
  const na = a.instanceNumber ?? Number.POSITIVE_INFINITY;
  const nb = b.instanceNumber ?? Number.POSITIVE_INFINITY;
  if (na !== nb) return na < nb ? -1 : 1;
  if (a.id !== b.id) return a.id < b.id ? -1 : 1;
  return a.frame - b.frame;
}

/**
 * Computes the voxel grid of a series and its QC issues.
 * @throws Error when `instances` is empty.
 */
export function computeSeriesGeometry(instances: InstanceGeometry[], tolerances: GeometryTolerances = {}): SeriesGeometry {
  if (!instances.length) throw new Error('The series has no images: a geometry needs at least one instance');
  const tol = { ...DEFAULT_TOLERANCES, ...tolerances };
  const issues: GeometryIssue[] = [];

  const candidates: Candidate[] = [];
  for (const inst of instances) {
    const frames = Math.max(1, Math.floor(inst.numberOfFrames || 1));
    for (let f = 0; f < frames; f++) {
      const fg = inst.frames?.[f];
      candidates.push({
        id: inst.id,
        frame: f,
        instanceNumber: finite(inst.instanceNumber) ? inst.instanceNumber : undefined,
        rows: inst.rows,
        columns: inst.columns,
        // A multi-frame without per-frame positions has one position for all frames, which says nothing about
        // where each frame lies: only single-frame instances may use the instance-level position.
        position: asPosition(fg?.imagePositionPatient) ?? (frames === 1 ? asPosition(inst.imagePositionPatient) : undefined),
        orientation: asOrientation(fg?.imageOrientationPatient) ?? asOrientation(inst.imageOrientationPatient),
        pixelSpacing: asSpacing(fg?.pixelSpacing) ?? asSpacing(inst.pixelSpacing),
      });
    }
  }
  const first = candidates[0];

  // Same matrix size everywhere, or the images cannot be stacked at all.
  const sizeOf = (c: Candidate) => `${c.columns}x${c.rows}`;
  const otherSize = candidates.filter((c) => sizeOf(c) !== sizeOf(first));
  if (otherSize.length) {
    const sizes = unique(candidates.map(sizeOf));
    issues.push({
      code: 'mixed-dimensions',
      severity: 'error',
      message: `The images have different matrix sizes (${sizes.join(', ')} columns x rows), so they cannot be stacked into one volume: split the series by image size (e.g. remove localizers)`,
      ids: unique(otherSize.map((c) => c.id)),
      details: { sizes: sizes.join(', ') },
    });
  }

  const refOrientation = candidates.find((c) => c.orientation)?.orientation;
  if (refOrientation) {
    const differs = (c: Candidate) =>
      !!c.orientation &&
      Math.max(...[0, 1, 2].map((i) => Math.max(Math.abs(c.orientation!.row[i] - refOrientation.row[i]), Math.abs(c.orientation!.column[i] - refOrientation.column[i])))) > tol.orientation;
    const odd = candidates.filter(differs);
    if (odd.length) {
      issues.push({
        code: 'mixed-orientation',
        severity: 'error',
        message: `${unique(odd.map((c) => c.id)).length} image(s) (${listIds(unique(odd.map((c) => c.id)))}) are oriented differently from the rest, so the series is not one stack of parallel slices: split it by Image Orientation (Patient) (0020,0037)`,
        ids: unique(odd.map((c) => c.id)),
      });
    }
  }

  const refSpacing = candidates.find((c) => c.pixelSpacing)?.pixelSpacing;
  if (refSpacing) {
    const odd = candidates.filter(
      (c) => c.pixelSpacing && (Math.abs(c.pixelSpacing[0] - refSpacing[0]) > tol.pixelSpacing * refSpacing[0] || Math.abs(c.pixelSpacing[1] - refSpacing[1]) > tol.pixelSpacing * refSpacing[1]),
    );
    if (odd.length) {
      issues.push({
        code: 'mixed-pixel-spacing',
        severity: 'warning',
        message: `${unique(odd.map((c) => c.id)).length} image(s) have a different Pixel Spacing from ${fmt(refSpacing[0], 4)} x ${fmt(refSpacing[1], 4)} mm; the volume uses the first value, so those slices will be scaled wrongly: check the series for mixed reconstructions`,
        ids: unique(odd.map((c) => c.id)),
      });
    }
  }

  const row: Vec3 = refOrientation?.row ?? [1, 0, 0];
  const col: Vec3 = refOrientation?.column ?? [0, 1, 0];
  const normal = normalize(cross(row, col));
  const [sy, sx] = refSpacing ?? [1, 1];
  const dims2 = [first.columns, first.rows] as const;

  const positioned = candidates.every((c) => c.position && c.orientation);
  const distanceOf = (c: Candidate) => (c.position ? dot(c.position, normal) : 0);
  const allSamePosition =
    positioned && candidates.length > 1 && candidates.every((c) => norm(sub(c.position!, first.position!)) < tol.duplicate);

  let kind: SeriesKind;
  if (candidates.length === 1) kind = 'single-image';
  else if (!positioned || allSamePosition) kind = 'multi-frame-2d';
  else kind = instances.length === 1 ? 'multi-frame-volume' : 'volume';

  if (candidates.length > 1 && !positioned && candidates.some((c) => c.position)) {
    const missing = unique(candidates.filter((c) => !c.position || !c.orientation).map((c) => c.id));
    issues.push({
      code: 'missing-position',
      severity: 'error',
      message: `${missing.length} image(s) (${listIds(missing)}) lack Image Position/Orientation (Patient) while others have them, so the slices cannot be placed in space and are ordered by InstanceNumber instead: re-export the series with full geometry`,
      ids: missing,
    });
  }

  const build = (sorted: Candidate[], spacing: Vec3, kColumn: Vec3): SeriesGeometry => {
    const origin: Vec3 = sorted[0].position ?? [0, 0, 0];
    const affineLps = affineFromColumns(scale(row, spacing[0]), scale(col, spacing[1]), kColumn, origin);
    return {
      kind,
      dims: [dims2[0], dims2[1], sorted.length],
      spacing,
      direction: { row, column: col, normal },
      origin,
      affineLps,
      affineRas: lpsToRas(affineLps),
      order: sorted.map((c) => c.id),
      slices: sorted.map((c) => ({ id: c.id, frame: c.frame, position: c.position, distance: distanceOf(c) })),
      issues,
    };
  };

  if (kind === 'single-image' || kind === 'multi-frame-2d') {
    // No through-plane geometry: keep acquisition (frame / instance) order; the third axis is time or a stack.
    const sorted = [...candidates].sort(byInstanceThenFrame);
    const first1 = instances[0];
    const sz = kind === 'single-image' ? (first1.sliceThickness ?? first1.spacingBetweenSlices ?? 1) : 1;
    return build(sorted, [sx, sy, sz > 0 ? sz : 1], scale(normal, sz > 0 ? sz : 1));
  }

  if (!refSpacing) {
    issues.push({
      code: 'missing-pixel-spacing',
      severity: 'warning',
      message: 'The images have no Pixel Spacing (0028,0030), so in-plane distances are assumed to be 1 mm: measurements and resampling will be wrong unless the source provides it',
    });
  }

  // Geometric order along the normal; InstanceNumber only breaks exact ties so the result is deterministic.
  const sorted = [...candidates].sort((a, b) => distanceOf(a) - distanceOf(b) || byInstanceThenFrame(a, b));
  const distances = sorted.map(distanceOf);

  const duplicates: [Candidate, Candidate][] = [];
  const steps: { step: number; from: Candidate; to: Candidate }[] = [];
  for (let n = 1; n < sorted.length; n++) {
    const step = distances[n] - distances[n - 1];
    if (step < tol.duplicate) duplicates.push([sorted[n - 1], sorted[n]]);
    else steps.push({ step, from: sorted[n - 1], to: sorted[n] });
  }
  if (duplicates.length) {
    const ids = unique(duplicates.flatMap(([a, b]) => [a.id, b.id]));
    const [a, b] = duplicates[0];
    issues.push({
      code: 'duplicate-position',
      severity: 'error',
      message: `${duplicates.length} pair(s) of slices share a position (first: ${a.id} and ${b.id} at ${fmt(distanceOf(a))} mm along the normal): the series mixes acquisitions, time points or repeated images; remove the duplicates or split the series`,
      ids,
      details: { pairs: duplicates.length },
    });
  }

  const medianStep = steps.length ? median(steps.map((s) => s.step)) : (instances[0].spacingBetweenSlices ?? instances[0].sliceThickness ?? 1);
  const gaps = steps.filter((s) => s.step > tol.gapFactor * medianStep);
  if (gaps.length) {
    const missingCount = gaps.reduce((acc, g) => acc + Math.max(1, Math.round(g.step / medianStep) - 1), 0);
    const g = gaps[0];
    issues.push({
      code: 'missing-slices',
      severity: 'warning',
      message: `About ${missingCount} slice(s) seem to be missing: ${gaps.length} gap(s) in the stack (first between ${g.from.id} and ${g.to.id}: ${fmt(g.step)} mm where slices are ${fmt(medianStep)} mm apart); voxels after a gap are misplaced, so send the complete series`,
      ids: unique(gaps.flatMap((x) => [x.from.id, x.to.id])),
      details: { gaps: gaps.length, missingSlices: missingCount, medianStep, gapSizes: gaps.map((x) => x.step) },
    });
  }
  const regular = steps.filter((s) => s.step <= tol.gapFactor * medianStep);
  if (regular.length > 1) {
    const worst = regular.reduce((w, s) => (Math.abs(s.step - medianStep) > Math.abs(w.step - medianStep) ? s : w));
    const deviation = Math.abs(worst.step - medianStep) / medianStep;
    if (deviation > tol.unevenSpacing) {
      const lo = Math.min(...regular.map((s) => s.step));
      const hi = Math.max(...regular.map((s) => s.step));
      issues.push({
        code: 'uneven-spacing',
        severity: 'warning',
        message: `Slice spacing varies from ${fmt(lo, 3)} to ${fmt(hi, 3)} mm (median ${fmt(medianStep, 3)} mm, ${fmt(deviation * 100, 1)}% off); the volume assumes even spacing, so resample the series onto a regular grid before measuring`,
        ids: [worst.from.id, worst.to.id],
        details: { minStep: lo, maxStep: hi, medianStep, relativeDeviation: deviation },
      });
    }
  }

  // Gantry tilt: the slices advance along a direction that is not the normal of their planes (sheared stack).
  let kColumn = scale(normal, medianStep);
  const span = sub(sorted[sorted.length - 1].position!, sorted[0].position!);
  const along = dot(span, normal);
  if (along > tol.duplicate) {
    const angle = (Math.acos(Math.min(1, along / norm(span))) * 180) / Math.PI;
    if (angle > tol.tiltDegrees) {
      // Keep every voxel where the scanner put it: the k column follows the true slice advance (a sheared
      // affine, representable in a NIfTI sform but not in a qform).
      kColumn = scale(span, medianStep / along);
      issues.push({
        code: 'gantry-tilt',
        severity: 'warning',
        message: `The slices are sheared by ${fmt(angle, 1)}° (gantry tilt): they advance at an angle to their own normal; the affine keeps the true positions, but tools that assume orthogonal axes (qform, many viewers) will misplace them, so resample to an orthogonal grid first`,
        details: { degrees: angle },
      });
    }
  }
  return build(sorted, [sx, sy, medianStep], kColumn);
}

/**
 * A series geometry as stored with the series: `slices` repeats what `order` says with positions and is left
 * out to keep the record small, except the frame number of each slice when the series has multi-frame instances
 * (an enhanced CT or MR: the id in `order` repeats, and a DICOM SEG or RTSTRUCT must name the frame).
 */
export type StoredSeriesGeometry = Omit<SeriesGeometry, 'slices'> & {
  frames?: number[];
  /**
   * Images a manager excluded after a privacy review (burned-in text): still part of the grid, their slices are
   * blanked (zeros) in the series' volume, so the rest of the series is annotated with its geometry intact. Added
   * with the series' record (ingest), absent when none.
   */
  excluded?: string[];
};

export function storedGeometry(geometry: SeriesGeometry): StoredSeriesGeometry {
  const { slices, ...rest } = geometry;
  return slices.some((s) => s.frame > 0) ? { ...rest, frames: slices.map((s) => s.frame + 1) } : rest;
}

/**
 * The source image of each slice, what a DICOM SEG or RTSTRUCT references: instance ids in slice order (an id
 * repeats for each frame of a multi-frame instance) and, where the series has multi-frame instances, the 1-based
 * frame number of each slice in its instance.
 */
export function sliceSources(geometry: Pick<SeriesGeometry, 'order'> & { slices?: SliceRef[]; frames?: number[] }): { ids: string[]; frames?: number[] } {
  const frames = geometry.frames ?? (geometry.slices?.some((s) => s.frame > 0) ? geometry.slices.map((s) => s.frame + 1) : undefined);
  return { ids: geometry.order, ...(frames ? { frames } : {}) };
}

/**
 * The source image of each slice of a task drawn on one instance (an image task, or a frame range of a cine):
 * `count` consecutive frames from `first` (0-based; null: the first frame). A single-frame image needs no frame number.
 */
export function frameSources(instanceId: string, first: number | null, count: number, instanceFrames: number): { ids: string[]; frames?: number[] } {
  const start = first ?? 0;
  return { ids: new Array<string>(count).fill(instanceId), ...(instanceFrames > 1 ? { frames: Array.from({ length: count }, (_, k) => start + k + 1) } : {}) };
}
