// The inputs shared by the SEG and RTSTRUCT writers: a label map on the voxel grid of a source image series
// (the layout of @contour/volume) plus what each label means. Naturalized datasets are dcmjs's keyword -> value
// form, as `readDicom(...).dataset` returns them.

/** A coded concept (a Code Sequence item): CodeValue, CodingSchemeDesignator, CodeMeaning. */
export interface CodedConcept {
  value: string;
  /** Coding scheme designator, e.g. 'SCT' (SNOMED CT) or 'DCM'. */
  scheme: string;
  meaning: string;
}

export type SegmentAlgorithmType = 'MANUAL' | 'SEMIAUTOMATIC' | 'AUTOMATIC';

/** What one value of the label map means. */
export interface SegmentDefinition {
  /** The voxel value (1..255) in the label map. 0 is always background. */
  labelValue: number;
  /** SEG SegmentLabel / RTSTRUCT ROIName (at most 64 characters). */
  label: string;
  description?: string;
  /** Display colour as '#rrggbb' (sRGB). */
  color?: string;
  /**
   * Segmented property category (CID 7150), e.g. SCT 91723000 "Anatomical Structure". Defaults to that concept
   * when absent, because DICOM requires one; pass the right category for lesions, tissues, devices.
   */
  category?: CodedConcept;
  /** Segmented property type, e.g. SCT 10200004 "Liver". */
  type: CodedConcept;
  algorithmType: SegmentAlgorithmType;
  /** Required unless algorithmType is 'MANUAL' (DICOM SegmentAlgorithmName is 1C). */
  algorithmName?: string;
  /** When set (and the type is not MANUAL), the SEG carries a Segmentation Algorithm Identification item. */
  algorithmVersion?: string;
  /** Algorithm family (CID 7162) for that item; defaults to DCM 123110 "Artificial Intelligence". */
  algorithmFamily?: CodedConcept;
  /** RTSTRUCT only: RT ROI Interpreted Type, e.g. 'ORGAN', 'GTV', 'PTV', 'AVOIDANCE' (empty when absent). */
  rtRoiInterpretedType?: string;
}

/** A label map on a source series: the common part of both writers' inputs. */
export interface LabelMapOnSeries {
  /** Naturalized datasets of the source image instances (already de-identified by the caller). */
  sources: Record<string, any>[];
  /** SOP Instance UIDs of the sources in slice order: label map slice k lies on instance order[k]. */
  order: string[];
  /**
   * Frame numbers (1-based) in slice order: slice k lies on frame frames[k] of instance order[k] (a multi-frame
   * source such as an enhanced CT repeats its UID in `order`, once per frame). Required when a source has several
   * frames; without it every slice is frame 1 of a single-frame instance.
   */
  sourceFrames?: number[];
  /** nx * ny * nz voxels, `labelMap[i + nx * (j + ny * k)]`; nx = Columns, ny = Rows, nz = order.length. */
  labelMap: Uint8Array;
  /** One entry per label value that may occur in the map; a value without an entry is an error. */
  segments: SegmentDefinition[];
}

/** Series / instance / equipment identification of a derived object. */
export interface DerivedObjectOptions {
  seriesDescription: string;
  seriesNumber?: number;
  instanceNumber?: number;
  /** Default 'Contour'. */
  manufacturer?: string;
  /** Default 'Contour'. */
  manufacturerModelName?: string;
  /** Default '0' (software has no serial number, but Enhanced General Equipment requires one). */
  deviceSerialNumber?: string;
  softwareVersions: string;
  seriesInstanceUid?: string;
  sopInstanceUid?: string;
  /** Seed for the UIDs that are not given: the same seed gives the same UIDs (see syntheticUid). */
  uidSeed?: string;
  /** Content / series date and time (local time). Default: now. */
  contentDateTime?: Date;
}
