// Label map -> DICOM Segmentation (SEG) instance, BINARY type, built attribute by attribute and written with
// @contour/dicom's writeDicom (explicit VR little endian). We do not use dcmjs.derivations.Segmentation: it
// copies the whole source dataset into the SEG (including the CT's own modules) and gives no control over which
// frames are written.
//
// Frames: by default one frame per (segment, source slice holding at least one voxel of that segment), ordered
// by segment number then slice order; `frames: 'all'` writes every slice for every segment instead (bigger, but
// some older viewers expect a frame per slice). Segment numbers are 1..n in the order of `segments`. A segment
// whose label value does not occur in the map is kept in the Segment Sequence without frames ("looked for, not
// found" is information; highdicom does the same). A map with no voxel of any segment is rejected, because a
// SEG must have at least one frame.
import { syntheticUid, writeDicom } from '@contour/dicom';
import { packLabelFrames } from './pixels';
import {
  characterSet,
  checkLabelMapOnSeries,
  codeItem,
  defaultCategory,
  derivedUids,
  dicomDate,
  dicomTime,
  ds,
  recommendedLab,
  patientAndStudy,
  referencedInstancesBySeries,
  type CheckedSeries,
} from './source-series';
import type { CodedConcept, DerivedObjectOptions, LabelMapOnSeries, SegmentDefinition } from './types';

export const SEGMENTATION_STORAGE = '1.2.840.10008.5.1.4.1.1.66.4';

export interface SegmentationInput extends LabelMapOnSeries, DerivedObjectOptions {
  /** Content Label (CS: upper case letters, digits, space, underscore; at most 16). Default 'SEGMENTATION'. */
  contentLabel?: string;
  contentDescription?: string;
  /** Who made the segmentation, as a DICOM person name ('Family^Given'); empty when absent. */
  contentCreatorName?: string;
  /** 'occupied' (default): frames only where a segment has voxels; 'all': every slice for every segment. */
  frames?: 'occupied' | 'all';
}

const ARTIFICIAL_INTELLIGENCE: CodedConcept = { value: '123110', scheme: 'DCM', meaning: 'Artificial Intelligence' };
const SOURCE_IMAGE_PURPOSE: CodedConcept = { value: '121322', scheme: 'DCM', meaning: 'Source image for image processing operation' };
const SEGMENTATION_DERIVATION: CodedConcept = { value: '113076', scheme: 'DCM', meaning: 'Segmentation' };

// Tags used as dimension index pointers (AT values are written as group << 16 | element).
const TAG = {
  ReferencedSegmentNumber: 0x0062000b,
  SegmentIdentificationSequence: 0x0062000a,
  ImagePositionPatient: 0x00200032,
  PlanePositionSequence: 0x00209113,
  TemporalPositionIndex: 0x00209128,
  FrameContentSequence: 0x00209111,
} as const;

/** Normalizes a Content Label to a valid CS value rather than rejecting a user-typed name. */
function contentLabel(label: string | undefined): string {
  const cleaned = (label ?? 'SEGMENTATION').toUpperCase().replace(/[^A-Z0-9 _]/g, '_').slice(0, 16).trim();
  return cleaned || 'SEGMENTATION';
}

function segmentItem(s: SegmentDefinition, segmentNumber: number): Record<string, unknown> {
  const lab = recommendedLab(s);
  const item: Record<string, unknown> = {
    SegmentNumber: segmentNumber,
    SegmentLabel: s.label,
    ...(s.description ? { SegmentDescription: s.description } : {}),
    SegmentAlgorithmType: s.algorithmType,
    ...(s.algorithmType !== 'MANUAL' ? { SegmentAlgorithmName: s.algorithmName } : {}),
    SegmentedPropertyCategoryCodeSequence: [codeItem(defaultCategory(s))],
    SegmentedPropertyTypeCodeSequence: [codeItem(s.type)],
    ...(lab ? { RecommendedDisplayCIELabValue: lab } : {}),
  };
  if (s.algorithmType !== 'MANUAL' && s.algorithmVersion) {
    item.SegmentationAlgorithmIdentificationSequence = [
      {
        AlgorithmFamilyCodeSequence: [codeItem(s.algorithmFamily ?? ARTIFICIAL_INTELLIGENCE)],
        AlgorithmName: s.algorithmName,
        AlgorithmVersion: s.algorithmVersion,
      },
    ];
  }
  return item;
}

interface PlannedFrame {
  segmentNumber: number;
  labelValue: number;
  slice: number;
}

function planFrames(series: CheckedSeries, mode: 'occupied' | 'all'): PlannedFrame[] {
  const frames: PlannedFrame[] = [];
  series.segments.forEach((s, index) => {
    for (let k = 0; k < series.slices.length; k++) {
      if (mode === 'all' || series.occupied[k * 256 + s.labelValue]) frames.push({ segmentNumber: index + 1, labelValue: s.labelValue, slice: k });
    }
  });
  return frames;
}

/** Writes a BINARY DICOM SEG of `labelMap` on its source series. See the file header for the frame layout. */
export function writeSegmentation(input: SegmentationInput): Buffer {
  const series = checkLabelMapOnSeries(input, { forSeg: true });
  const present = series.segments.filter((s) => series.voxels[s.labelValue] > 0);
  if (!present.length) {
    throw new Error(
      `The label map has no voxel of any segment (${series.segments.map((s) => `${s.labelValue} "${s.label}"`).join(', ')}): a DICOM SEG needs at least one frame, so there is nothing to write`,
    );
  }
  const uids = derivedUids(input, 'segmentation');
  const now = input.contentDateTime ?? new Date();
  const { rows, columns, slices } = series;
  const sliceSize = rows * columns;
  const planned = planFrames(series, input.frames ?? 'occupied');
  // Several frames of one image without patient geometry (an ultrasound cine): no plane positions to index by.
  const cine = series.projection && slices.length > 1;

  const pixelData = packLabelFrames(input.labelMap, planned, sliceSize);

  const dimensionOrganizationUid = syntheticUid(`${uids.seed}/dimension-organization`);
  const pixelMeasures: Record<string, unknown> = {
    PixelSpacing: series.pixelSpacing,
    SliceThickness: series.sliceThickness ?? ds(series.spacingBetweenSlices ?? 1),
    ...(series.spacingBetweenSlices ? { SpacingBetweenSlices: ds(series.spacingBetweenSlices) } : {}),
  };

  const referencedSeries = referencedInstancesBySeries(slices);

  const dataset: Record<string, unknown> = {
    // SOP Common
    SOPClassUID: SEGMENTATION_STORAGE,
    SOPInstanceUID: uids.sopInstanceUid,
    InstanceCreationDate: dicomDate(now),
    InstanceCreationTime: dicomTime(now),
    // Patient, Clinical Trial Subject, General Study, Patient Study, Clinical Trial Study
    ...patientAndStudy(series.first),
    // General Series + Segmentation Series
    Modality: 'SEG',
    SeriesInstanceUID: uids.seriesInstanceUid,
    SeriesNumber: input.seriesNumber ?? 1,
    SeriesDescription: input.seriesDescription,
    SeriesDate: dicomDate(now),
    SeriesTime: dicomTime(now),
    // Frame of Reference (none for a projection image: the SEG is pixel for pixel on it)
    ...(series.projection ? {} : { FrameOfReferenceUID: series.frameOfReferenceUid, PositionReferenceIndicator: series.first.PositionReferenceIndicator ?? '' }),
    // General Equipment + Enhanced General Equipment
    Manufacturer: input.manufacturer ?? 'Contour',
    ManufacturerModelName: input.manufacturerModelName ?? 'Contour',
    DeviceSerialNumber: input.deviceSerialNumber ?? '0',
    SoftwareVersions: input.softwareVersions,
    // General Image + Segmentation Image (Content Identification)
    ImageType: ['DERIVED', 'PRIMARY'],
    // Type 2C in General Image when there is no Image Orientation (Patient): the source's, as the SEG overlays it.
    ...(series.projection ? { PatientOrientation: series.first.PatientOrientation ?? '' } : {}),
    InstanceNumber: input.instanceNumber ?? 1,
    ContentLabel: contentLabel(input.contentLabel),
    ContentDescription: input.contentDescription ?? '',
    ContentCreatorName: input.contentCreatorName ?? '',
    ContentDate: dicomDate(now),
    ContentTime: dicomTime(now),
    // Image Pixel + Segmentation Image: one bit per pixel
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: rows,
    Columns: columns,
    BitsAllocated: 1,
    BitsStored: 1,
    HighBit: 0,
    PixelRepresentation: 0,
    LossyImageCompression: '00',
    SegmentationType: 'BINARY',
    // A label map cannot hold two labels in one voxel, so segments never overlap.
    SegmentsOverlap: 'NO',
    SegmentSequence: series.segments.map((s, i) => segmentItem(s, i + 1)),
    // Multi-frame Dimension: frames are indexed by segment, then by position along the stack.
    DimensionOrganizationSequence: [{ DimensionOrganizationUID: dimensionOrganizationUid }],
    DimensionIndexSequence: [
      {
        DimensionOrganizationUID: dimensionOrganizationUid,
        DimensionIndexPointer: TAG.ReferencedSegmentNumber,
        FunctionalGroupPointer: TAG.SegmentIdentificationSequence,
        DimensionDescriptionLabel: 'ReferencedSegmentNumber',
      },
      ...(series.projection
        ? cine
          ? [
              {
                DimensionOrganizationUID: dimensionOrganizationUid,
                DimensionIndexPointer: TAG.TemporalPositionIndex,
                FunctionalGroupPointer: TAG.FrameContentSequence,
                DimensionDescriptionLabel: 'TemporalPositionIndex',
              },
            ]
          : []
        : [
            {
              DimensionOrganizationUID: dimensionOrganizationUid,
              DimensionIndexPointer: TAG.ImagePositionPatient,
              FunctionalGroupPointer: TAG.PlanePositionSequence,
              DimensionDescriptionLabel: 'ImagePositionPatient',
            },
          ]),
    ],
    // Multi-frame Functional Groups
    NumberOfFrames: planned.length,
    // Plane orientation, position and pixel measures describe patient geometry: a projection image has none.
    SharedFunctionalGroupsSequence: [series.projection ? {} : { PlaneOrientationSequence: [{ ImageOrientationPatient: series.orientation }], PixelMeasuresSequence: [pixelMeasures] }],
    PerFrameFunctionalGroupsSequence: planned.map(({ segmentNumber, slice }) => {
      const source = slices[slice];
      return {
        DerivationImageSequence: [
          {
            SourceImageSequence: [
              {
                ReferencedSOPClassUID: source.sopClassUid,
                ReferencedSOPInstanceUID: source.sopInstanceUid,
                ...(source.frame ? { ReferencedFrameNumber: source.frame } : {}),
                PurposeOfReferenceCodeSequence: [codeItem(SOURCE_IMAGE_PURPOSE)],
              },
            ],
            DerivationCodeSequence: [codeItem(SEGMENTATION_DERIVATION)],
          },
        ],
        // Frames of a cine without patient geometry are told apart by their time point.
        FrameContentSequence: [
          series.projection
            ? { DimensionIndexValues: cine ? [segmentNumber, slice + 1] : [segmentNumber], ...(cine ? { TemporalPositionIndex: slice + 1 } : {}) }
            : { DimensionIndexValues: [segmentNumber, slice + 1] },
        ],
        // The source's own values, so positions compare exactly with the images'.
        ...(series.projection ? {} : { PlanePositionSequence: [{ ImagePositionPatient: source.position }] }),
        SegmentIdentificationSequence: [{ ReferencedSegmentNumber: segmentNumber }],
      };
    }),
    // Common Instance Reference: the SEG lives in the sources' study, so only the series are listed.
    ReferencedSeriesSequence: [...referencedSeries].map(([seriesInstanceUid, instances]) => ({
      SeriesInstanceUID: seriesInstanceUid,
      ReferencedInstanceSequence: instances,
    })),
    PixelData: [pixelData.buffer],
    _vrMap: { PixelData: 'OB' },
  };
  const charset = characterSet(dataset);
  if (charset) dataset.SpecificCharacterSet = charset;
  return writeDicom(dataset);
}
