// Synthetic DICOM studies with known geometry and content, generated from code: the demo project, tests and
// benchmarks use them where no real file with a shipping licence exists (long CT series, mammograms).
import { createHash } from 'node:crypto';
import * as dcmjs from 'dcmjs';

const EXPLICIT_LE = '1.2.840.10008.1.2.1';
export const SOP_CLASS = {
  CT: '1.2.840.10008.5.1.4.1.1.2',
  MR: '1.2.840.10008.5.1.4.1.1.4',
  DigitalMammographyForPresentation: '1.2.840.10008.5.1.4.1.1.1.2',
  DigitalXRayForPresentation: '1.2.840.10008.5.1.4.1.1.1.1',
  SecondaryCapture: '1.2.840.10008.5.1.4.1.1.7',
} as const;

/** A deterministic UID under the 2.25 (UUID-derived) root, so generated studies are reproducible. */
export function syntheticUid(seed: string): string {
  const hex = createHash('sha256').update(seed).digest('hex').slice(0, 32);
  return `2.25.${BigInt(`0x${hex}`).toString()}`;
}

/** What Contour writes as Implementation Class UID / Version Name in the File Meta of every file it writes. */
export const CONTOUR_IMPLEMENTATION = { classUid: '2.25.80302813137786398554742050926734630921603366648225212145404', versionName: 'CONTOUR_0_1' } as const;

/** Writes a naturalized dataset as a DICOM Part 10 file (explicit VR little endian). */
export function writeDicom(dataset: Record<string, unknown>): Buffer {
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: dataset.SOPClassUID,
    MediaStorageSOPInstanceUID: dataset.SOPInstanceUID,
    TransferSyntaxUID: EXPLICIT_LE,
    ImplementationClassUID: CONTOUR_IMPLEMENTATION.classUid,
    ImplementationVersionName: CONTOUR_IMPLEMENTATION.versionName,
  };
  const dict = new dcmjs.data.DicomDict(dcmjs.data.DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = dcmjs.data.DicomMetaDictionary.denaturalizeDataset(dataset);
  return Buffer.from(dict.write());
}

export interface PatientSpec {
  name: string;
  id: string;
  sex?: 'M' | 'F' | 'O';
  birthDate?: string;
  age?: string;
}

export interface CtPhantomOptions {
  patient: PatientSpec;
  /** Seed for UIDs: the same seed gives the same study. */
  seed: string;
  slices: number;
  rows?: number;
  columns?: number;
  pixelSpacing?: number;
  sliceThickness?: number;
  studyDate?: string;
  institution?: string;
  manufacturer?: string;
  /** Shuffle the file order (real senders do not send slices in order). */
  shuffle?: boolean;
  /** Burned In Annotation (0028,0301), when given. */
  burnedInAnnotation?: 'YES' | 'NO';
}

/**
 * A CT body phantom: air outside an elliptic body of soft tissue (40 HU), two lungs (-800 HU), a vertebral body
 * (700 HU) and a round lesion (60 HU, radius 15 mm) in the right lung from 40% to 60% of the slices.
 * Stored as unsigned 16-bit with RescaleIntercept -1024, like most scanners.
 */
export function ctPhantomSeries(o: CtPhantomOptions): { files: Buffer[]; studyInstanceUid: string; seriesInstanceUid: string } {
  const rows = o.rows ?? 512;
  const cols = o.columns ?? 512;
  const ps = o.pixelSpacing ?? 0.7;
  const dz = o.sliceThickness ?? 1.25;
  const studyInstanceUid = syntheticUid(`${o.seed}/study`);
  const seriesInstanceUid = syntheticUid(`${o.seed}/series`);
  const frameOfReferenceUid = syntheticUid(`${o.seed}/for`);
  const files: Buffer[] = [];
  const cx = (cols - 1) / 2;
  const cy = (rows - 1) / 2;
  const mm = (px: number) => px * ps;
  for (let k = 0; k < o.slices; k++) {
    const pixels = new Uint16Array(rows * cols);
    const t = o.slices > 1 ? k / (o.slices - 1) : 0.5;
    const lesion = t >= 0.4 && t <= 0.6;
    for (let y = 0; y < rows; y++) {
      for (let x = 0; x < cols; x++) {
        const dx = mm(x - cx);
        const dy = mm(y - cy);
        let hu = -1000;
        if ((dx / 160) ** 2 + (dy / 115) ** 2 <= 1) {
          hu = 40;
          if (((dx - 70) / 55) ** 2 + ((dy + 5) / 75) ** 2 <= 1 || ((dx + 70) / 55) ** 2 + ((dy + 5) / 75) ** 2 <= 1) hu = -800;
          if ((dx / 18) ** 2 + ((dy - 70) / 18) ** 2 <= 1) hu = 700;
          if (lesion && (dx + 70) ** 2 + (dy + 5) ** 2 <= 15 ** 2) hu = 60;
        }
        pixels[y * cols + x] = hu + 1024;
      }
    }
    const sopInstanceUid = syntheticUid(`${o.seed}/instance/${k}`);
    const z = -k * dz;
    files.push(
      writeDicom({
        SOPClassUID: SOP_CLASS.CT,
        SOPInstanceUID: sopInstanceUid,
        StudyInstanceUID: studyInstanceUid,
        SeriesInstanceUID: seriesInstanceUid,
        FrameOfReferenceUID: frameOfReferenceUid,
        PatientName: o.patient.name,
        PatientID: o.patient.id,
        PatientSex: o.patient.sex ?? 'O',
        PatientBirthDate: o.patient.birthDate ?? '',
        PatientAge: o.patient.age ?? '',
        StudyDate: o.studyDate ?? '20240115',
        StudyTime: '101500',
        SeriesDate: o.studyDate ?? '20240115',
        AccessionNumber: `ACC${o.seed.length}${k % 1}`,
        StudyID: '1',
        StudyDescription: 'CT CHEST PHANTOM',
        SeriesDescription: 'Synthetic body phantom',
        SeriesNumber: 2,
        InstanceNumber: k + 1,
        Modality: 'CT',
        BodyPartExamined: 'CHEST',
        Manufacturer: o.manufacturer ?? 'Contour Synthetic',
        ManufacturerModelName: 'Phantom-1',
        InstitutionName: o.institution ?? 'Contour Test Hospital',
        ReferringPhysicianName: 'Doe^Jane',
        KVP: 120,
        SliceThickness: dz,
        ImagePositionPatient: [-mm(cx), -mm(cy), z],
        ImageOrientationPatient: [1, 0, 0, 0, 1, 0],
        SliceLocation: z,
        ...(o.burnedInAnnotation ? { BurnedInAnnotation: o.burnedInAnnotation } : {}),
        PixelSpacing: [ps, ps],
        Rows: rows,
        Columns: cols,
        SamplesPerPixel: 1,
        PhotometricInterpretation: 'MONOCHROME2',
        BitsAllocated: 16,
        BitsStored: 12,
        HighBit: 11,
        PixelRepresentation: 0,
        RescaleIntercept: -1024,
        RescaleSlope: 1,
        WindowCenter: 40,
        WindowWidth: 400,
        PixelData: [pixels.buffer],
        _vrMap: { PixelData: 'OW' },
      }),
    );
  }
  if (o.shuffle) {
    // Deterministic shuffle (seeded by position) so tests are reproducible.
    for (let i = files.length - 1; i > 0; i--) {
      const j = Number(BigInt(`0x${createHash('sha1').update(`${o.seed}/${i}`).digest('hex').slice(0, 8)}`) % BigInt(i + 1));
      [files[i], files[j]] = [files[j], files[i]];
    }
  }
  return { files, studyInstanceUid, seriesInstanceUid };
}

/** One 16-bit single-frame image of any size (e.g. a 5-megapixel mammogram), with a smooth gradient. */
export function largeImage(o: {
  seed: string;
  rows: number;
  columns: number;
  modality?: string;
  patient?: PatientSpec;
  laterality?: 'L' | 'R';
  /** View Position (0018,5101), e.g. CC, MLO, PA, LL. */
  view?: string;
  /** images with the same study seed share a study (e.g. four mammography views) */
  studySeed?: string;
  /** images with the same series seed share a series (e.g. a PA and a lateral radiograph of different sizes) */
  seriesSeed?: string;
  instanceNumber?: number;
  /** The stored value of pixel (x, y), 0..4095; default a diagonal ramp. */
  pixelValue?: (x: number, y: number) => number;
}): Buffer {
  const pixels = new Uint16Array(o.rows * o.columns);
  const value = o.pixelValue ?? ((x: number, y: number) => (x * 7 + y * 3) & 0x0fff);
  for (let y = 0; y < o.rows; y++) for (let x = 0; x < o.columns; x++) pixels[y * o.columns + x] = value(x, y);
  const modality = o.modality ?? 'MG';
  const sopClass: Record<string, string> = { MG: SOP_CLASS.DigitalMammographyForPresentation, DX: SOP_CLASS.DigitalXRayForPresentation };
  return writeDicom({
    SOPClassUID: sopClass[modality] ?? SOP_CLASS.SecondaryCapture,
    SOPInstanceUID: syntheticUid(`${o.seed}/instance`),
    StudyInstanceUID: syntheticUid(`${o.studySeed ?? o.seed}/study`),
    SeriesInstanceUID: syntheticUid(`${o.seriesSeed ?? o.seed}/series`),
    PatientName: o.patient?.name ?? 'Synthetic^Patient',
    PatientID: o.patient?.id ?? 'SYN-0001',
    PatientSex: o.patient?.sex ?? 'F',
    StudyDate: '20240201',
    Modality: modality,
    ImageLaterality: o.laterality ?? 'L',
    ViewPosition: o.view ?? 'CC',
    InstanceNumber: o.instanceNumber ?? 1,
    SeriesNumber: 1,
    PixelSpacing: [0.07, 0.07],
    Rows: o.rows,
    Columns: o.columns,
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    BitsAllocated: 16,
    BitsStored: 12,
    HighBit: 11,
    PixelRepresentation: 0,
    PixelData: [pixels.buffer],
    _vrMap: { PixelData: 'OW' },
  });
}
