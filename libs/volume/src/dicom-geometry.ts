// Extracts the geometry record of one DICOM instance (see series-geometry.ts) from a parsed file: classic
// single-frame attributes, enhanced multi-frame functional groups, and Siemens MOSAIC tiles, whose true slice
// positions have to be reconstructed from the mosaic's nominal position.
import type { ParsedDicom } from '@contour/dicom';
import { add, cross, dot, normalize, scale, type Vec3 } from './affine';
import type { FrameGeometry, InstanceGeometry } from './series-geometry';
import { mosaicLayout } from './siemens-mosaic';

const numbers = (v: unknown): number[] | undefined => {
  const list = Array.isArray(v) ? v : typeof v === 'string' ? v.split('\\') : v === undefined || v === null ? [] : [v];
  const out = list.map((x) => (typeof x === 'string' ? Number(x.trim()) : Number(x)));
  return out.length && out.every(Number.isFinite) ? out : undefined;
};
const number = (v: unknown): number | undefined => numbers(v)?.[0];
const firstItem = (seq: unknown): Record<string, any> | undefined => (Array.isArray(seq) ? seq[0] : seq && typeof seq === 'object' ? (seq as Record<string, any>) : undefined);

/** The geometry record of one instance. `id` defaults to the SOP Instance UID. */
export function instanceGeometryFromDicom(parsed: ParsedDicom, id: string = parsed.sopInstanceUid): InstanceGeometry {
  const ds = parsed.dataset;
  const shared = firstItem(ds.SharedFunctionalGroupsSequence);
  const sharedMeasures = firstItem(shared?.PixelMeasuresSequence);
  const record: InstanceGeometry = {
    id,
    imagePositionPatient: numbers(ds.ImagePositionPatient),
    imageOrientationPatient: numbers(ds.ImageOrientationPatient) ?? numbers(firstItem(shared?.PlaneOrientationSequence)?.ImageOrientationPatient),
    // Projection radiographs often have only ImagerPixelSpacing (at the detector); better than nothing for 2D.
    pixelSpacing: numbers(ds.PixelSpacing) ?? numbers(sharedMeasures?.PixelSpacing) ?? numbers(ds.ImagerPixelSpacing),
    sliceThickness: number(ds.SliceThickness) ?? number(sharedMeasures?.SliceThickness),
    spacingBetweenSlices: number(ds.SpacingBetweenSlices) ?? number(sharedMeasures?.SpacingBetweenSlices),
    rows: Number(ds.Rows) || 0,
    columns: Number(ds.Columns) || 0,
    numberOfFrames: Math.max(1, Math.floor(number(ds.NumberOfFrames) ?? 1)),
    instanceNumber: number(ds.InstanceNumber),
  };

  const perFrame: unknown[] = Array.isArray(ds.PerFrameFunctionalGroupsSequence) ? ds.PerFrameFunctionalGroupsSequence : [];
  if (perFrame.length) {
    record.frames = perFrame.map((item): FrameGeometry => {
      const fg = item as Record<string, any>;
      return {
        imagePositionPatient: numbers(firstItem(fg?.PlanePositionSequence)?.ImagePositionPatient),
        imageOrientationPatient: numbers(firstItem(fg?.PlaneOrientationSequence)?.ImageOrientationPatient),
        pixelSpacing: numbers(firstItem(fg?.PixelMeasuresSequence)?.PixelSpacing),
      };
    });
    return record;
  }

  const layout = record.numberOfFrames === 1 ? mosaicLayout(ds, parsed.dict.dict) : undefined;
  if (layout && record.imagePositionPatient && record.imageOrientationPatient && record.pixelSpacing) {
    const iop = record.imageOrientationPatient;
    const row = normalize(iop.slice(0, 3));
    const col = normalize(iop.slice(3, 6));
    const [rowSpacing, columnSpacing] = record.pixelSpacing;
    // The nominal position is the top-left of the whole mosaic centred on the slices: step in by half the
    // difference between mosaic and tile size (in pixels) along both in-plane directions.
    const first = add(
      record.imagePositionPatient,
      add(scale(row, ((layout.mosaicColumns - layout.tileColumns) / 2) * columnSpacing), scale(col, ((layout.mosaicRows - layout.tileRows) / 2) * rowSpacing)),
    );
    // Tiles follow the acquisition's slice direction: CSA SliceNormalVector when present, else row x column.
    const crossNormal = normalize(cross(row, col));
    const sign = layout.sliceNormal && dot(layout.sliceNormal, crossNormal) < 0 ? -1 : 1;
    const step = record.spacingBetweenSlices ?? record.sliceThickness ?? 1;
    record.rows = layout.tileRows;
    record.columns = layout.tileColumns;
    record.numberOfFrames = layout.images;
    record.frames = Array.from({ length: layout.images }, (_, t): FrameGeometry => ({
      imagePositionPatient: add(first, scale(crossNormal, sign * step * t)) as Vec3,
      imageOrientationPatient: iop,
      pixelSpacing: record.pixelSpacing,
    }));
  }
  return record;
}
