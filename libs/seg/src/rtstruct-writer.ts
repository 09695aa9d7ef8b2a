// Label map -> RT Structure Set (RTSTRUCT): one ROI per segment, and for every slice the outlines of the
// label's pixels as CLOSED_PLANAR contours in patient coordinates (LPS mm), each referencing the source image
// it was drawn on. Outlines follow pixel edges (see contours.ts): polygons enclose exactly the labelled pixels,
// and holes are separate contours inside their region (planning systems combine nested contours with the
// even-odd rule). A segment whose label does not occur in the map keeps its ROI, with no contours; an empty
// map is rejected, like an empty SEG.
import { writeDicom } from '@contour/dicom';
import { parseHexColor } from './color';
import { traceLabelOutlines } from './contours';
import { characterSet, checkLabelMapOnSeries, codeItem, derivedUids, dicomDate, dicomTime, ds, patientAndStudy, type CheckedSeries } from './source-series';
import type { DerivedObjectOptions, LabelMapOnSeries } from './types';

export const RT_STRUCTURE_SET_STORAGE = '1.2.840.10008.5.1.4.1.1.481.3';
// The RT Referenced Study Sequence names the study by this (retired, but still required there) SOP class.
const STUDY_COMPONENT_MANAGEMENT = '1.2.840.10008.3.1.2.3.2';

export interface RtStructInput extends LabelMapOnSeries, DerivedObjectOptions {
  /** Structure Set Label (SH, at most 16 characters). Default 'CONTOUR'. */
  structureSetLabel?: string;
  structureSetName?: string;
  structureSetDescription?: string;
}

/** The closed contours of one label on one slice, in patient LPS mm: x, y, z per point. */
export interface PatientContour {
  slice: number;
  points: number[];
  hole: boolean;
}

/** Outlines of `labelValue` on every slice of the checked series, mapped to patient coordinates. */
function contoursOf(series: CheckedSeries, labelMap: Uint8Array, labelValue: number): PatientContour[] {
  const { rows, columns, row, column, pixelSpacing } = series;
  const [rowSpacing, columnSpacing] = pixelSpacing;
  const out: PatientContour[] = [];
  series.slices.forEach((slice, k) => {
    if (!series.occupied[k * 256 + labelValue]) return;
    for (const polygon of traceLabelOutlines(labelMap, columns, rows, labelValue, k * rows * columns)) {
      // Pixel corner (x, y) lies half a pixel before the centre of pixel (x, y); the position is that of the
      // centre of pixel (0, 0). x runs along the row direction (column spacing), y along the column direction.
      const points: number[] = [];
      for (const [x, y] of polygon.points) {
        const u = (x - 0.5) * columnSpacing;
        const v = (y - 0.5) * rowSpacing;
        for (let c = 0; c < 3; c++) points.push(ds(slice.position[c] + row[c] * u + column[c] * v));
      }
      out.push({ slice: k, points, hole: polygon.hole });
    }
  });
  return out;
}

/** ROIDisplayColor wants R\G\B integers; without a colour we leave it out (it is optional). */
const displayColor = (hex: string | undefined) => (hex ? parseHexColor(hex) : undefined);

/** Writes an RTSTRUCT of `labelMap` on its source series. See the file header for the contour conventions. */
export function writeRtStruct(input: RtStructInput): Buffer {
  const series = checkLabelMapOnSeries(input, { forSeg: false });
  if (!series.segments.some((s) => series.voxels[s.labelValue] > 0)) {
    throw new Error(`The label map has no voxel of any segment (${series.segments.map((s) => `${s.labelValue} "${s.label}"`).join(', ')}): there is no contour to write`);
  }
  const label = input.structureSetLabel ?? 'CONTOUR';
  if (label.length > 16) throw new Error(`The structure set label "${label}" is ${label.length} characters long; DICOM allows at most 16`);
  const uids = derivedUids(input, 'structure set');
  const now = input.contentDateTime ?? new Date();
  const { slices, frameOfReferenceUid } = series;
  // A frame of a multi-frame source is referenced with its frame number.
  const imageRef = (k: number) => ({
    ReferencedSOPClassUID: slices[k].sopClassUid,
    ReferencedSOPInstanceUID: slices[k].sopInstanceUid,
    ...(slices[k].frame ? { ReferencedFrameNumber: slices[k].frame } : {}),
  });

  const bySeries = new Map<string, number[]>();
  slices.forEach((s, k) => bySeries.set(s.seriesInstanceUid, [...(bySeries.get(s.seriesInstanceUid) ?? []), k]));

  const roiContours = series.segments.map((s, index) => {
    const contours = series.voxels[s.labelValue] > 0 ? contoursOf(series, input.labelMap, s.labelValue) : [];
    const color = displayColor(s.color);
    return {
      ReferencedROINumber: index + 1,
      ...(color ? { ROIDisplayColor: color } : {}),
      ...(contours.length
        ? {
            ContourSequence: contours.map((c, n) => ({
              ContourNumber: n + 1,
              ContourImageSequence: [imageRef(c.slice)],
              ContourGeometricType: 'CLOSED_PLANAR',
              NumberOfContourPoints: c.points.length / 3,
              ContourData: c.points,
            })),
          }
        : {}),
    };
  });

  const dataset: Record<string, unknown> = {
    // SOP Common
    SOPClassUID: RT_STRUCTURE_SET_STORAGE,
    SOPInstanceUID: uids.sopInstanceUid,
    InstanceCreationDate: dicomDate(now),
    InstanceCreationTime: dicomTime(now),
    // Patient, Clinical Trial Subject, General Study, Patient Study, Clinical Trial Study
    ...patientAndStudy(series.first),
    // RT Series
    Modality: 'RTSTRUCT',
    SeriesInstanceUID: uids.seriesInstanceUid,
    SeriesNumber: input.seriesNumber ?? 1,
    SeriesDescription: input.seriesDescription,
    SeriesDate: dicomDate(now),
    SeriesTime: dicomTime(now),
    OperatorsName: '',
    // General Equipment
    Manufacturer: input.manufacturer ?? 'Contour',
    ManufacturerModelName: input.manufacturerModelName ?? 'Contour',
    DeviceSerialNumber: input.deviceSerialNumber ?? '0',
    SoftwareVersions: input.softwareVersions,
    // Frame of Reference
    FrameOfReferenceUID: frameOfReferenceUid,
    PositionReferenceIndicator: series.first.PositionReferenceIndicator ?? '',
    // Structure Set
    StructureSetLabel: label,
    ...(input.structureSetName ? { StructureSetName: input.structureSetName } : {}),
    ...(input.structureSetDescription ? { StructureSetDescription: input.structureSetDescription } : {}),
    InstanceNumber: input.instanceNumber ?? 1,
    StructureSetDate: dicomDate(now),
    StructureSetTime: dicomTime(now),
    ReferencedFrameOfReferenceSequence: [
      {
        FrameOfReferenceUID: frameOfReferenceUid,
        RTReferencedStudySequence: [
          {
            ReferencedSOPClassUID: STUDY_COMPONENT_MANAGEMENT,
            ReferencedSOPInstanceUID: series.studyInstanceUid,
            RTReferencedSeriesSequence: [...bySeries].map(([seriesInstanceUid, ks]) => ({
              SeriesInstanceUID: seriesInstanceUid,
              ContourImageSequence: ks.map(imageRef),
            })),
          },
        ],
      },
    ],
    StructureSetROISequence: series.segments.map((s, index) => ({
      ROINumber: index + 1,
      ReferencedFrameOfReferenceUID: frameOfReferenceUid,
      ROIName: s.label,
      ...(s.description ? { ROIDescription: s.description } : {}),
      ROIGenerationAlgorithm: s.algorithmType,
      ...(s.algorithmName ? { ROIGenerationDescription: s.algorithmVersion ? `${s.algorithmName} ${s.algorithmVersion}` : s.algorithmName } : {}),
    })),
    // ROI Contour
    ROIContourSequence: roiContours,
    // RT ROI Observations: the segment's type code identifies what the ROI is.
    RTROIObservationsSequence: series.segments.map((s, index) => ({
      ObservationNumber: index + 1,
      ReferencedROINumber: index + 1,
      RTROIIdentificationCodeSequence: [codeItem(s.type)],
      RTROIInterpretedType: s.rtRoiInterpretedType ?? '',
      ROIInterpreter: '',
    })),
  };
  const charset = characterSet(dataset);
  if (charset) dataset.SpecificCharacterSet = charset;
  return writeDicom(dataset);
}
