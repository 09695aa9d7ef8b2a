// The source series of a label map, checked once for both writers: every slice of the map must lie on a known
// source image (a single-frame instance, or one frame of a multi-frame one such as an enhanced CT or MR, whose
// position, orientation and pixel spacing come from its functional groups), all slices must share one plane
// orientation, pixel matrix, pixel spacing, frame of reference and study, and every value in the map must be
// described by a segment. Also the attribute copying
// (Patient, General Study, ...) that SEG and RTSTRUCT share, and small DICOM value helpers.
import { syntheticUid } from '@contour/dicom';
import { hexToDicomLab, parseHexColor } from './color';
import type { CodedConcept, DerivedObjectOptions, LabelMapOnSeries, SegmentDefinition } from './types';

export type Vec3 = [number, number, number];

export interface SourceSlice {
  sopInstanceUid: string;
  /** Frame number (1-based) inside a multi-frame source; absent for a single-frame one. */
  frame?: number;
  sopClassUid: string;
  seriesInstanceUid: string;
  /** ImagePositionPatient: LPS mm of the centre of the first pixel. */
  position: Vec3;
  /** ImageOrientationPatient of this slice (the frame's, for a frame of a multi-frame source). */
  orientation?: number[];
  pixelSpacing?: number[];
  sliceThickness?: number;
  dataset: Record<string, any>;
}

export interface CheckedSeries {
  slices: SourceSlice[];
  rows: number;
  columns: number;
  /** ImageOrientationPatient as given by the first source (row cosines, then column cosines). */
  orientation: number[];
  row: Vec3;
  column: Vec3;
  normal: Vec3;
  /** PixelSpacing: [between rows (along the column direction), between columns (along the row direction)]. */
  pixelSpacing: [number, number];
  sliceThickness?: number;
  /** Median step between consecutive slices along the normal (absent for a single slice). */
  spacingBetweenSlices?: number;
  /** '' for a projection image (see `projection`). */
  frameOfReferenceUid: string;
  /**
   * One 2D source with no patient geometry (a radiograph, a mammogram, a secondary capture: no Image Position or
   * Orientation (Patient) and no Frame of Reference). Only a SEG can be made of it (pixel for pixel on the image,
   * as highdicom does for such sources); `position`, `orientation` and the vectors are then placeholders.
   */
  projection: boolean;
  studyInstanceUid: string;
  /** The first source in slice order: Patient and Study values are taken from it. */
  first: Record<string, any>;
  segments: SegmentDefinition[];
  /** voxels[labelValue]: number of voxels with that value in the whole map. */
  voxels: Float64Array;
  /** occupied[k * 256 + labelValue]: slice k has at least one voxel of that value. */
  occupied: Uint8Array;
}

// --- value helpers ---------------------------------------------------------------------------------------------

export const numbers = (v: unknown): number[] | undefined => {
  const list = Array.isArray(v) ? v : typeof v === 'string' ? v.split('\\') : v === undefined || v === null || v === '' ? [] : [v];
  const out = list.map((x) => (typeof x === 'string' ? Number(x.trim()) : Number(x)));
  return out.length && out.every(Number.isFinite) ? out : undefined;
};
export const firstNumber = (v: unknown): number | undefined => numbers(v)?.[0];

/** Items of a naturalized sequence (dcmjs gives an array; tolerate a lone item object too). */
export function items(seq: unknown): Record<string, any>[] {
  if (Array.isArray(seq)) return seq.filter((x) => x && typeof x === 'object');
  return seq && typeof seq === 'object' ? [seq as Record<string, any>] : [];
}

export const dot = (a: readonly number[], b: readonly number[]) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
export const cross = (a: readonly number[], b: readonly number[]): Vec3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const normalize = (a: readonly number[]): Vec3 => {
  const n = Math.hypot(a[0], a[1], a[2]);
  return [a[0] / n, a[1] / n, a[2] / n];
};

/** A DS value short enough for the 16-character limit: micrometre precision is far below any voxel size. */
export const ds = (v: number): number => {
  const r = Math.round(v * 1e4) / 1e4;
  return Object.is(r, -0) ? 0 : r;
};

/** A coded concept as a Code Sequence item; values longer than 16 characters go to Long Code Value. */
export function codeItem(c: CodedConcept): Record<string, unknown> {
  const value = String(c.value);
  return {
    ...(value.length > 16 ? { LongCodeValue: value } : { CodeValue: value }),
    CodingSchemeDesignator: c.scheme,
    CodeMeaning: c.meaning,
  };
}

export function codeFromItem(item: Record<string, any> | undefined): CodedConcept | undefined {
  if (!item) return undefined;
  const value = item.CodeValue ?? item.LongCodeValue ?? item.URNCodeValue;
  return value === undefined ? undefined : { value: String(value), scheme: String(item.CodingSchemeDesignator ?? ''), meaning: String(item.CodeMeaning ?? '') };
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');
export const dicomDate = (d: Date) => `${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}`;
export const dicomTime = (d: Date) => `${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}`;

/** The series and SOP instance UIDs of a derived object: given, or derived from the caller's seed. */
export function derivedUids(o: DerivedObjectOptions, what: string): { seriesInstanceUid: string; sopInstanceUid: string; seed: string } {
  if ((!o.seriesInstanceUid || !o.sopInstanceUid) && !o.uidSeed) {
    throw new Error(`The ${what} needs a seriesInstanceUid and a sopInstanceUid, or a uidSeed to derive them from`);
  }
  const seed = o.uidSeed ?? `${o.seriesInstanceUid}/${o.sopInstanceUid}`;
  return {
    seriesInstanceUid: o.seriesInstanceUid ?? syntheticUid(`${seed}/series`),
    sopInstanceUid: o.sopInstanceUid ?? syntheticUid(`${seed}/instance`),
    seed,
  };
}

/** Does the image place its pixels in patient coordinates (a frame of reference, a plane position or orientation)? */
function hasPatientGeometry(ds: Record<string, any>): boolean {
  if (ds.FrameOfReferenceUID || numbers(ds.ImagePositionPatient) || numbers(ds.ImageOrientationPatient)) return true;
  const groups = [...items(ds.SharedFunctionalGroupsSequence), ...items(ds.PerFrameFunctionalGroupsSequence)];
  return groups.some((g) => items(g.PlanePositionSequence).length > 0 || items(g.PlaneOrientationSequence).length > 0);
}

/**
 * Where one frame of a source lies: an enhanced (multi-frame) image keeps its positions, orientations and pixel
 * measures in the per-frame and shared functional groups, a classic image at the top level.
 */
export function frameGeometry(ds: Record<string, any>, frame: number): { position?: number[]; orientation?: number[]; pixelSpacing?: number[]; sliceThickness?: number } {
  const perFrame = items(ds.PerFrameFunctionalGroupsSequence)[frame - 1];
  const shared = items(ds.SharedFunctionalGroupsSequence)[0];
  const group = (name: string) => items(perFrame?.[name])[0] ?? items(shared?.[name])[0];
  const measures = group('PixelMeasuresSequence');
  return {
    position: numbers(group('PlanePositionSequence')?.ImagePositionPatient) ?? numbers(ds.ImagePositionPatient),
    orientation: numbers(group('PlaneOrientationSequence')?.ImageOrientationPatient) ?? numbers(ds.ImageOrientationPatient),
    pixelSpacing: numbers(measures?.PixelSpacing) ?? numbers(ds.PixelSpacing),
    sliceThickness: firstNumber(measures?.SliceThickness) ?? firstNumber(ds.SliceThickness),
  };
}

// --- validation ------------------------------------------------------------------------------------------------

const CATEGORY_ANATOMICAL_STRUCTURE: CodedConcept = { value: '91723000', scheme: 'SCT', meaning: 'Anatomical Structure' };
export const defaultCategory = (s: SegmentDefinition): CodedConcept => s.category ?? CATEGORY_ANATOMICAL_STRUCTURE;

function checkText(value: string | undefined, what: string, max: number) {
  if (value !== undefined && value.length > max) throw new Error(`${what} is ${value.length} characters long; DICOM allows at most ${max}`);
  if (value !== undefined && /[\\\r\n]/.test(value)) throw new Error(`${what} contains a backslash or a line break, which DICOM does not allow there`);
}

function checkSegments(segments: SegmentDefinition[], forSeg: boolean) {
  if (!segments.length) throw new Error('No segments were given: describe at least one label value');
  const seen = new Set<number>();
  for (const s of segments) {
    const name = `segment "${s.label}" (label value ${s.labelValue})`;
    if (!Number.isInteger(s.labelValue) || s.labelValue < 1 || s.labelValue > 255) {
      throw new Error(`The label value of segment "${s.label}" is ${s.labelValue}; label values are integers from 1 to 255 (0 is background)`);
    }
    if (seen.has(s.labelValue)) throw new Error(`Label value ${s.labelValue} is described by more than one segment`);
    seen.add(s.labelValue);
    if (!s.label || !s.label.trim()) throw new Error(`Label value ${s.labelValue} has an empty label`);
    checkText(s.label, `The label of ${name}`, 64);
    checkText(s.algorithmName, `The algorithm name of ${name}`, 64);
    checkText(s.algorithmVersion, `The algorithm version of ${name}`, 64);
    if (s.color !== undefined) parseHexColor(s.color);
    if (!['MANUAL', 'SEMIAUTOMATIC', 'AUTOMATIC'].includes(s.algorithmType)) {
      throw new Error(`The algorithm type of ${name} is "${s.algorithmType}"; it must be MANUAL, SEMIAUTOMATIC or AUTOMATIC`);
    }
    if (forSeg && s.algorithmType !== 'MANUAL' && !s.algorithmName) {
      throw new Error(`${name} is ${s.algorithmType} but has no algorithmName; DICOM requires the algorithm's name unless the segment is MANUAL`);
    }
    for (const [what, c] of [['type', s.type], ['category', s.category]] as const) {
      if (!c) continue;
      if (!c.value || !c.scheme || !c.meaning) throw new Error(`The ${what} code of ${name} needs a value, a scheme and a meaning`);
      checkText(c.meaning, `The ${what} code meaning of ${name}`, 64);
    }
    if (!s.type) throw new Error(`${name} has no type code (what the segment is, e.g. SCT 10200004 "Liver")`);
  }
}

/** Checks a label map against its source series and returns the geometry and per-slice occupancy. */
export function checkLabelMapOnSeries(input: LabelMapOnSeries, opts: { forSeg: boolean }): CheckedSeries {
  const { sources, order, labelMap, segments, sourceFrames: frames } = input;
  if (!order.length) throw new Error('The slice order is empty: give the SOP Instance UIDs of the source slices in slice order');
  if (frames && frames.length !== order.length) throw new Error(`The slice order has ${order.length} slices but ${frames.length} frame numbers were given`);
  const byUid = new Map<string, Record<string, any>>();
  for (const ds of sources) {
    const uid = ds?.SOPInstanceUID;
    if (typeof uid !== 'string' || !uid) throw new Error('A source dataset has no SOPInstanceUID');
    byUid.set(uid, ds);
  }
  // A SEG of one image without patient geometry (no position, orientation or frame of reference: a radiograph,
  // or frames of an ultrasound cine) is pixel for pixel on that image and its frames; an RTSTRUCT (contours in
  // patient coordinates) or a stack of several such images cannot be made.
  const only = new Set(order).size === 1 ? byUid.get(order[0]) : undefined;
  const projection = opts.forSeg && !!only && !hasPatientGeometry(only);
  const seen = new Map<string, number>();
  const slices: SourceSlice[] = order.map((uid, k) => {
    const ds = byUid.get(uid);
    if (!ds) throw new Error(`Slice ${k} of the order is SOP instance ${uid}, which is not among the ${sources.length} source datasets`);
    const frameCount = firstNumber(ds.NumberOfFrames) ?? 1;
    const frame = frames?.[k] ?? 1;
    const name = frameCount > 1 ? `frame ${frame} of SOP instance ${uid}` : `SOP instance ${uid}`;
    if (frameCount > 1 && !frames) throw new Error(`Source instance ${uid} has ${frameCount} frames: give the frame number of each slice (sourceFrames) so each slice can reference its frame`);
    if (!Number.isInteger(frame) || frame < 1 || frame > frameCount)
      throw new Error(`Slice ${k} refers to frame ${frame} of SOP instance ${uid}, which has ${frameCount} frame${frameCount > 1 ? 's' : ''}${frameCount === 1 ? ' (slices cut from one image, such as mosaic tiles, cannot be referenced)' : ''}`);
    const key = `${uid}#${frame}`;
    if (seen.has(key)) throw new Error(`${name[0].toUpperCase()}${name.slice(1)} appears twice in the slice order (slices ${seen.get(key)} and ${k})`);
    seen.set(key, k);
    const ref = { sopInstanceUid: uid, ...(frameCount > 1 ? { frame } : {}), sopClassUid: String(ds.SOPClassUID ?? ''), seriesInstanceUid: String(ds.SeriesInstanceUID ?? ''), dataset: ds };
    if (projection) return { ...ref, position: [0, 0, 0] as Vec3 };
    const g = frameGeometry(ds, frame);
    if (!g.position || g.position.length < 3) {
      throw new Error(`Source instance ${uid}${frameCount > 1 ? ` (frame ${frame})` : ''} has no Image Position (Patient), so its slice cannot be placed${opts.forSeg && order.length > 1 ? ' (a SEG of images without patient geometry is made of one image at a time)' : ''}`);
    }
    return { ...ref, position: [g.position[0], g.position[1], g.position[2]] as Vec3, orientation: g.orientation, pixelSpacing: g.pixelSpacing, sliceThickness: g.sliceThickness };
  });

  const first = slices[0].dataset;
  const rows = firstNumber(first.Rows) ?? 0;
  const columns = firstNumber(first.Columns) ?? 0;
  const orientation = projection ? [1, 0, 0, 0, 1, 0] : slices[0].orientation;
  const spacing = projection ? (numbers(first.PixelSpacing) ?? numbers(first.ImagerPixelSpacing) ?? [1, 1]) : slices[0].pixelSpacing;
  if (!rows || !columns) throw new Error(`Source instance ${slices[0].sopInstanceUid} has no Rows/Columns`);
  if (!orientation || orientation.length < 6) throw new Error(`Source instance ${slices[0].sopInstanceUid} has no Image Orientation (Patient)`);
  if (!spacing || spacing.length < 2 || !(spacing[0] > 0 && spacing[1] > 0)) throw new Error(`Source instance ${slices[0].sopInstanceUid} has no valid Pixel Spacing`);
  const frameOfReferenceUid = String(first.FrameOfReferenceUID ?? '');
  if (!frameOfReferenceUid && !projection) throw new Error(`Source instance ${slices[0].sopInstanceUid} has no Frame of Reference UID, so contours and frame positions would mean nothing`);
  const studyInstanceUid = String(first.StudyInstanceUID ?? '');
  if (!studyInstanceUid) throw new Error(`Source instance ${slices[0].sopInstanceUid} has no Study Instance UID`);

  // Frames of one image without patient geometry share its matrix and have no planes to compare.
  for (const s of projection ? [] : slices.slice(1)) {
    const ds = s.dataset;
    const uid = s.frame ? `${s.sopInstanceUid} (frame ${s.frame})` : s.sopInstanceUid;
    if (firstNumber(ds.Rows) !== rows || firstNumber(ds.Columns) !== columns) {
      throw new Error(`Source instance ${uid} is ${ds.Columns}x${ds.Rows} pixels but the first slice is ${columns}x${rows}`);
    }
    const o = s.orientation;
    if (!o || o.length < 6 || o.slice(0, 6).some((v, i) => Math.abs(v - orientation[i]) > 1e-4)) {
      throw new Error(`Source instance ${uid} has another plane orientation than the first slice; one segmentation needs one orientation`);
    }
    const ps = s.pixelSpacing;
    if (!ps || Math.abs(ps[0] - spacing[0]) > 1e-4 * spacing[0] || Math.abs(ps[1] - spacing[1]) > 1e-4 * spacing[1]) {
      throw new Error(`Source instance ${uid} has pixel spacing ${ps?.join('\\')} but the first slice has ${spacing.join('\\')}`);
    }
    if (String(ds.FrameOfReferenceUID ?? '') !== frameOfReferenceUid) throw new Error(`Source instance ${uid} is in another frame of reference than the first slice`);
    if (String(ds.StudyInstanceUID ?? '') !== studyInstanceUid) throw new Error(`Source instance ${uid} belongs to another study than the first slice`);
  }

  const sliceSize = rows * columns;
  if (labelMap.length !== sliceSize * order.length) {
    const slicesInMap = labelMap.length / sliceSize;
    throw new Error(
      Number.isInteger(slicesInMap)
        ? `The label map has ${slicesInMap} slices but the series has ${order.length}`
        : `The label map has ${labelMap.length} voxels, which is not a whole number of ${columns}x${rows} slices (the series has ${order.length} slices, ${sliceSize * order.length} voxels)`,
    );
  }

  checkSegments(segments, opts.forSeg);
  const voxels = new Float64Array(256);
  const occupied = new Uint8Array(order.length * 256);
  for (let k = 0; k < order.length; k++) {
    const base = k * sliceSize;
    for (let p = 0; p < sliceSize; p++) {
      const v = labelMap[base + p];
      if (v) {
        voxels[v]++;
        occupied[k * 256 + v] = 1;
      }
    }
  }
  const described = new Set(segments.map((s) => s.labelValue));
  const undescribed = [...voxels.keys()].filter((v) => v > 0 && voxels[v] > 0 && !described.has(v));
  if (undescribed.length) {
    throw new Error(
      `The label map holds ${undescribed.map((v) => `value ${v} on ${voxels[v]} voxels`).join(', ')} but no segment describes ${undescribed.length > 1 ? 'them' : 'it'}`,
    );
  }

  const row = normalize(orientation.slice(0, 3));
  const column = normalize(orientation.slice(3, 6));
  const normal = cross(row, column);
  const steps = slices.slice(1).map((s, k) => Math.abs(dot(s.position, normal) - dot(slices[k].position, normal)));
  const sorted = [...steps].sort((a, b) => a - b);
  const spacingBetweenSlices = sorted.length ? sorted[sorted.length >> 1] : undefined;
  return {
    slices,
    rows,
    columns,
    orientation: orientation.slice(0, 6),
    row,
    column,
    normal,
    pixelSpacing: [spacing[0], spacing[1]],
    sliceThickness: slices[0].sliceThickness,
    spacingBetweenSlices: spacingBetweenSlices && spacingBetweenSlices > 0 ? spacingBetweenSlices : undefined,
    frameOfReferenceUid,
    projection,
    studyInstanceUid,
    first,
    segments,
    voxels,
    occupied,
  };
}

// --- shared modules --------------------------------------------------------------------------------------------

// Patient, Clinical Trial Subject, General Study, Patient Study and Clinical Trial Study attributes: a derived
// object joins the study of its sources, so these are copied from them (the caller de-identified them already).
const PATIENT_AND_STUDY = [
  'PatientName', 'PatientID', 'IssuerOfPatientID', 'TypeOfPatientID', 'PatientBirthDate', 'PatientSex', 'PatientIdentityRemoved',
  'DeidentificationMethod', 'DeidentificationMethodCodeSequence', 'PatientSpeciesDescription', 'PatientSpeciesCodeSequence',
  'PatientBreedDescription', 'PatientBreedCodeSequence', 'BreedRegistrationSequence', 'ResponsiblePerson', 'ResponsiblePersonRole', 'ResponsibleOrganization',
  'ClinicalTrialSponsorName', 'ClinicalTrialProtocolID', 'ClinicalTrialProtocolName', 'ClinicalTrialSiteID', 'ClinicalTrialSiteName',
  'ClinicalTrialSubjectID', 'ClinicalTrialSubjectReadingID',
  'StudyInstanceUID', 'StudyDate', 'StudyTime', 'ReferringPhysicianName', 'StudyID', 'AccessionNumber', 'StudyDescription',
  'PatientAge', 'PatientSize', 'PatientWeight',
  'ClinicalTrialTimePointID', 'ClinicalTrialTimePointDescription',
] as const;

// Type 2 attributes: present even when the source has no value.
const TYPE2_PATIENT_AND_STUDY = ['PatientName', 'PatientID', 'PatientBirthDate', 'PatientSex', 'StudyDate', 'StudyTime', 'ReferringPhysicianName', 'StudyID', 'AccessionNumber'];

export function patientAndStudy(first: Record<string, any>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of PATIENT_AND_STUDY) if (first[k] !== undefined && first[k] !== null) out[k] = first[k];
  for (const k of TYPE2_PATIENT_AND_STUDY) if (out[k] === undefined) out[k] = '';
  return out;
}

/** Specific Character Set: dcmjs writes UTF-8, so any non-ASCII text needs ISO_IR 192 declared. */
export function characterSet(dataset: Record<string, unknown>): string | undefined {
  const nonAscii = (v: unknown): boolean =>
    typeof v === 'string' ? /[^\x00-\x7f]/.test(v) : Array.isArray(v) ? v.some(nonAscii) : v && typeof v === 'object' && !(v instanceof ArrayBuffer) && !ArrayBuffer.isView(v) ? Object.values(v).some(nonAscii) : false;
  return nonAscii(dataset) ? 'ISO_IR 192' : undefined;
}

export const recommendedLab = (s: SegmentDefinition) => (s.color ? hexToDicomLab(s.color) : undefined);

/** The source instances grouped by series (normally one), each instance once (a multi-frame one has many slices), in slice order. */
export function referencedInstancesBySeries(slices: SourceSlice[]): Map<string, { ReferencedSOPClassUID: string; ReferencedSOPInstanceUID: string }[]> {
  const bySeries = new Map<string, { ReferencedSOPClassUID: string; ReferencedSOPInstanceUID: string }[]>();
  const listed = new Set<string>();
  for (const s of slices) {
    if (listed.has(s.sopInstanceUid)) continue;
    listed.add(s.sopInstanceUid);
    const list = bySeries.get(s.seriesInstanceUid) ?? [];
    list.push({ ReferencedSOPClassUID: s.sopClassUid, ReferencedSOPInstanceUID: s.sopInstanceUid });
    bySeries.set(s.seriesInstanceUid, list);
  }
  return bySeries;
}
