// DICOM SEG -> label map on the grid of its source series. Reads BINARY (bit-packed), FRACTIONAL (a voxel
// belongs to a segment when its value exceeds half of Maximum Fractional Value) and LABELMAP (pixel value =
// segment number) segmentations, native or RLE Lossless.
//
// Each frame is placed on a slice of the grid by the source image it derives from (Derivation Image Sequence ->
// Source Image Sequence, per frame or shared), which is what SEGs from dcmqi, highdicom, dcmjs and Contour
// carry. A SEG without such references can still be read when the caller passes the series geometry: frames are
// then placed by Image Position (Patient) along the slice normal.
//
// The output is one label per voxel: voxel = segment number. Where segments overlap (allowed in BINARY and
// FRACTIONAL SEGs), the higher segment number wins and `overlappingVoxels` says how many voxels were affected;
// pass `{ masks: true }` to get every segment's own mask as well.
import { readDicom } from '@contour/dicom';
import { dicomLabToHex } from './color';
import { decodeRleFrame, unpackFrame } from './pixels';
import { codeFromItem, cross, dot, firstNumber, items, numbers } from './source-series';
import type { CodedConcept, SegmentAlgorithmType } from './types';

export const SEGMENTATION_STORAGE_UID = '1.2.840.10008.5.1.4.1.1.66.4';
/** Label Map Segmentation Storage (2024): the LABELMAP segmentation type has its own SOP class. */
export const LABEL_MAP_SEGMENTATION_STORAGE_UID = '1.2.840.10008.5.1.4.1.1.66.7';
const RLE_LOSSLESS = '1.2.840.10008.1.2.5';
const NATIVE = new Set(['1.2.840.10008.1.2', '1.2.840.10008.1.2.1']);

/** The slice grid to read onto: SOP Instance UIDs in slice order, or a SeriesGeometry from @contour/volume. */
export type SegmentationGrid =
  | string[]
  | {
      order: string[];
      dims: [number, number, number];
      slices: { id: string; frame: number; position?: number[] }[];
      direction: { normal: number[] };
      spacing: number[];
    };

export interface ReadSegment {
  segmentNumber: number;
  label: string;
  description?: string;
  algorithmType?: SegmentAlgorithmType;
  algorithmName?: string;
  category?: CodedConcept;
  type?: CodedConcept;
  /** From Recommended Display CIELab Value, as '#rrggbb'. */
  color?: string;
  /** Voxels of this segment on the grid (before overlap resolution). */
  voxelCount: number;
  /** Slices (k) on which the segment has at least one voxel. */
  slices: number[];
}

export interface ReadSegmentation {
  segmentationType: 'BINARY' | 'FRACTIONAL' | 'LABELMAP';
  dims: [number, number, number];
  /** Segment number per voxel, `labelMap[i + nx * (j + ny * k)]`; Uint16Array when a segment number exceeds 255. */
  labelMap: Uint8Array | Uint16Array;
  segments: ReadSegment[];
  overlappingVoxels: number;
  /** Per-segment masks (0/1), only with `{ masks: true }`. */
  masks?: Map<number, Uint8Array>;
  sopInstanceUid: string;
  seriesInstanceUid: string;
  frameOfReferenceUid?: string;
}

export interface ReadSegmentationOptions {
  masks?: boolean;
}

interface FrameRef {
  uid: string;
  frame: number;
}

/** Source references of one frame: per-frame Derivation Image Sequence first, then the shared one. */
function sourceRefs(perFrame: Record<string, any> | undefined, shared: Record<string, any> | undefined): FrameRef[] {
  const from = (group: Record<string, any> | undefined): FrameRef[] =>
    items(group?.DerivationImageSequence).flatMap((d) =>
      items(d.SourceImageSequence)
        .filter((s) => typeof s.ReferencedSOPInstanceUID === 'string')
        .map((s) => ({ uid: s.ReferencedSOPInstanceUID as string, frame: firstNumber(s.ReferencedFrameNumber) ?? 1 })),
    );
  const own = from(perFrame);
  return own.length ? own : from(shared);
}

/** Reads a SEG onto the grid of its source series. See the file header for placement and overlap rules. */
export function readSegmentation(buffer: Buffer, grid: SegmentationGrid, options: ReadSegmentationOptions = {}): ReadSegmentation {
  const parsed = readDicom(buffer);
  const ds = parsed.dataset;
  if (parsed.sopClassUid !== SEGMENTATION_STORAGE_UID && parsed.sopClassUid !== LABEL_MAP_SEGMENTATION_STORAGE_UID) {
    throw new Error(`The file is not a DICOM Segmentation (its SOP Class UID is ${parsed.sopClassUid}, Modality ${parsed.modality})`);
  }
  const segmentationType = String(ds.SegmentationType ?? '').trim() as ReadSegmentation['segmentationType'];
  if (!['BINARY', 'FRACTIONAL', 'LABELMAP'].includes(segmentationType)) throw new Error(`Unsupported Segmentation Type "${segmentationType}"`);
  const rows = firstNumber(ds.Rows) ?? 0;
  const columns = firstNumber(ds.Columns) ?? 0;
  const frameCount = firstNumber(ds.NumberOfFrames) ?? 1;
  const bitsAllocated = firstNumber(ds.BitsAllocated) ?? 0;
  const expectedBits = segmentationType === 'BINARY' ? [1] : segmentationType === 'FRACTIONAL' ? [8] : [8, 16];
  if (!expectedBits.includes(bitsAllocated)) throw new Error(`A ${segmentationType} segmentation with Bits Allocated ${bitsAllocated} is not valid`);

  const order = Array.isArray(grid) ? grid : grid.order;
  const sliceSize = rows * columns;
  if (!Array.isArray(grid) && (grid.dims[0] !== columns || grid.dims[1] !== rows)) {
    throw new Error(`The segmentation frames are ${columns}x${rows} pixels but the series slices are ${grid.dims[0]}x${grid.dims[1]}`);
  }
  const nz = order.length;

  // (uid, frame number) -> slice index. A multi-frame source repeats its UID once per frame in the order.
  const sliceOf = new Map<string, number>();
  const framesSeen = new Map<string, number>();
  order.forEach((uid, k) => {
    const frame = (framesSeen.get(uid) ?? 0) + 1;
    framesSeen.set(uid, frame);
    sliceOf.set(`${uid}#${Array.isArray(grid) ? frame : grid.slices[k].frame + 1}`, k);
  });

  // Position fallback: distances of the grid's slices along the normal.
  const normal = Array.isArray(grid) ? undefined : grid.direction.normal;
  const distances = Array.isArray(grid) ? undefined : grid.slices.map((s) => (s.position ? dot(s.position, grid.direction.normal) : NaN));
  const shared = items(ds.SharedFunctionalGroupsSequence)[0];
  const perFrame = items(ds.PerFrameFunctionalGroupsSequence);
  const sharedOrientation = numbers(items(shared?.PlaneOrientationSequence)[0]?.ImageOrientationPatient);

  const placeFrame = (f: number): number => {
    const refs = sourceRefs(perFrame[f], shared);
    for (const r of refs) {
      const k = sliceOf.get(`${r.uid}#${r.frame}`);
      if (k !== undefined) return k;
    }
    const position = numbers(items(perFrame[f]?.PlanePositionSequence)[0]?.ImagePositionPatient);
    if (normal && distances && position) {
      const orientation = numbers(items(perFrame[f]?.PlaneOrientationSequence)[0]?.ImageOrientationPatient) ?? sharedOrientation;
      if (orientation && Math.abs(Math.abs(dot(cross(orientation.slice(0, 3), orientation.slice(3, 6)), normal)) - 1) > 1e-3) {
        throw new Error(`Frame ${f + 1} of the segmentation is not parallel to the series slices`);
      }
      const d = dot(position, normal);
      let best = -1;
      for (let k = 0; k < distances.length; k++) if (best < 0 || Math.abs(distances[k] - d) < Math.abs(distances[best] - d)) best = k;
      const tolerance = Math.max(1e-3, ((grid as { spacing: number[] }).spacing[2] || 1) / 2);
      if (best >= 0 && Math.abs(distances[best] - d) <= tolerance) return best;
      throw new Error(`Frame ${f + 1} of the segmentation lies ${(d - distances[best]).toFixed(2)} mm from the nearest slice of the series`);
    }
    if (refs.length) {
      throw new Error(`Frame ${f + 1} of the segmentation derives from SOP instance ${refs[0].uid}, which is not in the series (${nz} slices)`);
    }
    throw new Error(`Frame ${f + 1} of the segmentation references no source image; pass the series geometry to place it by position`);
  };

  // Segment numbers of the frames (BINARY / FRACTIONAL).
  const sharedSegment = firstNumber(items(shared?.SegmentIdentificationSequence)[0]?.ReferencedSegmentNumber);
  const segmentOfFrame = (f: number): number => {
    const n = firstNumber(items(perFrame[f]?.SegmentIdentificationSequence)[0]?.ReferencedSegmentNumber) ?? sharedSegment;
    if (n === undefined) throw new Error(`Frame ${f + 1} of the segmentation names no segment (Segment Identification Sequence)`);
    return n;
  };

  const frameValues = frameReader(parsed.transferSyntaxUid, ds.PixelData, { frameCount, sliceSize, bitsAllocated, rows, columns });
  const threshold = segmentationType === 'FRACTIONAL' ? (firstNumber(ds.MaximumFractionalValue) ?? 255) / 2 : 0;

  const segmentItems = items(ds.SegmentSequence);
  const maxSegment = Math.max(0, ...segmentItems.map((s) => firstNumber(s.SegmentNumber) ?? 0));
  const labelMap = maxSegment > 255 ? new Uint16Array(sliceSize * nz) : new Uint8Array(sliceSize * nz);
  const counts = new Map<number, number>();
  const slicesOf = new Map<number, Set<number>>();
  const masks = options.masks ? new Map<number, Uint8Array>() : undefined;
  let overlappingVoxels = 0;
  const mark = (segment: number, voxel: number, k: number) => {
    counts.set(segment, (counts.get(segment) ?? 0) + 1);
    let s = slicesOf.get(segment);
    if (!s) slicesOf.set(segment, (s = new Set()));
    s.add(k);
    const existing = labelMap[voxel];
    if (existing && existing !== segment) overlappingVoxels++;
    if (segment > existing) labelMap[voxel] = segment;
    if (masks) {
      let m = masks.get(segment);
      if (!m) masks.set(segment, (m = new Uint8Array(sliceSize * nz)));
      m[voxel] = 1;
    }
  };

  for (let f = 0; f < frameCount; f++) {
    const values = frameValues(f);
    const k = placeFrame(f);
    const base = k * sliceSize;
    if (segmentationType === 'LABELMAP') {
      for (let p = 0; p < sliceSize; p++) if (values[p]) mark(values[p], base + p, k);
    } else {
      const segment = segmentOfFrame(f);
      for (let p = 0; p < sliceSize; p++) if (values[p] > threshold) mark(segment, base + p, k);
    }
  }

  const segments: ReadSegment[] = segmentItems
    .map((s): ReadSegment => {
      const n = firstNumber(s.SegmentNumber) ?? 0;
      const lab = numbers(s.RecommendedDisplayCIELabValue);
      return {
        segmentNumber: n,
        label: String(s.SegmentLabel ?? ''),
        ...(s.SegmentDescription ? { description: String(s.SegmentDescription) } : {}),
        ...(s.SegmentAlgorithmType ? { algorithmType: String(s.SegmentAlgorithmType) as SegmentAlgorithmType } : {}),
        ...(s.SegmentAlgorithmName ? { algorithmName: String(s.SegmentAlgorithmName) } : {}),
        category: codeFromItem(items(s.SegmentedPropertyCategoryCodeSequence)[0]),
        type: codeFromItem(items(s.SegmentedPropertyTypeCodeSequence)[0]),
        ...(lab && lab.length === 3 ? { color: dicomLabToHex(lab) } : {}),
        voxelCount: counts.get(n) ?? 0,
        slices: [...(slicesOf.get(n) ?? [])].sort((a, b) => a - b),
      };
    })
    // A LABELMAP SEG may describe its background as segment 0; it is not a segment of the label map.
    .filter((s) => !(segmentationType === 'LABELMAP' && s.segmentNumber === 0));

  return {
    segmentationType,
    dims: [columns, rows, nz],
    labelMap,
    segments,
    overlappingVoxels,
    ...(masks ? { masks } : {}),
    sopInstanceUid: parsed.sopInstanceUid,
    seriesInstanceUid: parsed.seriesInstanceUid,
    frameOfReferenceUid: ds.FrameOfReferenceUID,
  };
}

/** Returns a function giving frame f's pixel values (row by row), for native or RLE Pixel Data. */
function frameReader(
  transferSyntaxUid: string,
  pixelData: unknown,
  o: { frameCount: number; sliceSize: number; bitsAllocated: number; rows: number; columns: number },
): (f: number) => ArrayLike<number> {
  const parts = (Array.isArray(pixelData) ? pixelData : [pixelData]).filter((p): p is ArrayBuffer => p instanceof ArrayBuffer || ArrayBuffer.isView(p));
  if (!parts.length) throw new Error('The segmentation has no Pixel Data');
  const bytes = (p: ArrayBuffer | ArrayBufferView) => (p instanceof ArrayBuffer ? new Uint8Array(p) : new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
  if (NATIVE.has(transferSyntaxUid)) {
    const all = parts.length === 1 ? bytes(parts[0]) : Buffer.concat(parts.map(bytes));
    if (o.bitsAllocated === 1) return (f) => unpackFrame(all, o.sliceSize, f);
    const bytesPerPixel = o.bitsAllocated / 8;
    if (all.length < o.frameCount * o.sliceSize * bytesPerPixel) {
      throw new Error(`The Pixel Data is too short: ${o.frameCount} frames need ${o.frameCount * o.sliceSize * bytesPerPixel} bytes but there are ${all.length}`);
    }
    if (bytesPerPixel === 1) return (f) => all.subarray(f * o.sliceSize, (f + 1) * o.sliceSize);
    const view = new DataView(all.buffer, all.byteOffset, all.byteLength);
    return (f) => Uint16Array.from({ length: o.sliceSize }, (_, p) => view.getUint16((f * o.sliceSize + p) * 2, true));
  }
  if (transferSyntaxUid === RLE_LOSSLESS) {
    if (parts.length !== o.frameCount) throw new Error(`The RLE Pixel Data holds ${parts.length} frames but Number of Frames is ${o.frameCount}`);
    return (f) => {
      if (o.bitsAllocated === 1) return unpackFrame(decodeRleFrame(bytes(parts[f]), 1, Math.ceil(o.sliceSize / 8)), o.sliceSize, 0);
      const decoded = decodeRleFrame(bytes(parts[f]), o.bitsAllocated / 8, o.sliceSize);
      if (o.bitsAllocated === 8) return decoded;
      const view = new DataView(decoded.buffer, decoded.byteOffset, decoded.byteLength);
      return Uint16Array.from({ length: o.sliceSize }, (_, p) => view.getUint16(p * 2, true));
    };
  }
  throw new Error(`Segmentations in transfer syntax ${transferSyntaxUid} are not supported (native and RLE Lossless are)`);
}
