// SEG writer and reader checked with real tools: dciodvfy validates every written object (no "Error" lines),
// pydicom reads it back independently (frames, segments, references, positions, and the unpacked pixels placed
// on the source grid must reproduce the label map voxel for voxel), and the reader is run on SEGs made by other
// tools (dcmqi's liver SEG of the same CT slices, an RLE copy of it, an overlapping-segments SEG, a LABELMAP SEG).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ctPhantomSeries, readDicom, SOP_CLASS } from '@contour/dicom';
import { sliceSources, volumeFromDicomFiles } from '@contour/volume';
import { DATA, dciodvfy, loadSeries, pydicomSeg, seriesFromBuffers, type LoadedSeries, type PydicomSeg } from '../test/tools';
import { readSegmentation } from './segmentation-reader';
import { writeRtStruct } from './rtstruct-writer';
import { SEGMENTATION_STORAGE, writeSegmentation, type SegmentationInput } from './segmentation-writer';
import type { SegmentDefinition } from './types';

const SEGMENTATIONS = path.join(DATA, 'dicom/segmentations');
const CT = loadSeries('dicom/series/ct-3slice');
const [NX, NY, NZ] = CT.dims;

// dciodvfy warnings we accept: the CT's own patient name (copied from the source) uses a retired PN form.
const ACCEPTED_WARNINGS = [/Retired Person Name form/];
function expectValid(file: Buffer) {
  const { errors, warnings } = dciodvfy(file);
  expect(errors).toEqual([]);
  expect(warnings.filter((w) => !ACCEPTED_WARNINGS.some((a) => a.test(w)))).toEqual([]);
}

const LIVER_DISC: SegmentDefinition = {
  labelValue: 1,
  label: 'Liver',
  description: 'a disc standing in for the liver',
  color: '#dd8265',
  category: { value: '91723000', scheme: 'SCT', meaning: 'Anatomical Structure' },
  type: { value: '10200004', scheme: 'SCT', meaning: 'Liver' },
  algorithmType: 'MANUAL',
};
const LESION_SQUARE: SegmentDefinition = {
  labelValue: 2,
  label: 'Lesion',
  color: '#1e90ff',
  category: { value: '49755003', scheme: 'SCT', meaning: 'Morphologically Altered Structure' },
  type: { value: '52988006', scheme: 'SCT', meaning: 'Lesion' },
  algorithmType: 'AUTOMATIC',
  algorithmName: 'Threshold',
  algorithmVersion: '2.1',
};

function paintDisc(map: Uint8Array, dims: number[], k: number, ci: number, cj: number, r: number, value: number) {
  for (let j = 0; j < dims[1]; j++) for (let i = 0; i < dims[0]; i++) if ((i - ci) ** 2 + (j - cj) ** 2 <= r * r) map[i + dims[0] * (j + dims[1] * k)] = value;
}
function paintSquare(map: Uint8Array, dims: number[], k: number, i0: number, j0: number, size: number, value: number) {
  for (let j = j0; j < j0 + size; j++) for (let i = i0; i < i0 + size; i++) map[i + dims[0] * (j + dims[1] * k)] = value;
}

/** Disc (label 1) on slices 0 and 1, square (label 2) on slice 2 of the 3 CT slices. */
function ctLabelMap(): Uint8Array {
  const map = new Uint8Array(NX * NY * NZ);
  paintDisc(map, CT.dims, 0, 150, 260, 40, 1);
  paintDisc(map, CT.dims, 1, 150, 260, 35, 1);
  paintSquare(map, CT.dims, 2, 300, 200, 30, 2);
  return map;
}

function ctInput(overrides: Partial<SegmentationInput> = {}): SegmentationInput {
  return {
    sources: CT.datasets,
    order: CT.order,
    labelMap: ctLabelMap(),
    segments: [LIVER_DISC, LESION_SQUARE],
    seriesDescription: 'Contour segmentation',
    seriesNumber: 300,
    contentCreatorName: 'Doe^Jane',
    softwareVersions: '0.1.0',
    uidSeed: 'seg-spec/ct-3slice',
    contentDateTime: new Date(2024, 4, 6, 7, 8, 9),
    ...overrides,
  };
}

const positionOf = (ds: Record<string, any>) => (ds.ImagePositionPatient as (number | string)[]).map(Number);
const count = (a: ArrayLike<number>, v?: number) => {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (v === undefined ? a[i] : a[i] === v) n++;
  return n;
};

describe('writeSegmentation on the 3 real CT slices', () => {
  const input = ctInput();
  const file = writeSegmentation(input);
  // pydicom takes about a second per run: read this file once.
  let readByPydicom: PydicomSeg | undefined;
  const theirs = () => (readByPydicom ??= pydicomSeg(file, CT.order));

  test('dciodvfy finds no error', () => {
    expectValid(file);
  });

  test('pydicom reads the frames, segments and references we meant to write', () => {
    const seg = theirs();
    expect(seg.sopClassUid).toBe(SEGMENTATION_STORAGE);
    expect(seg.modality).toBe('SEG');
    expect(seg.segmentationType).toBe('BINARY');
    expect(seg.bitsAllocated).toBe(1);
    expect(seg.numberOfFrames).toBe(3);
    expect(seg.segments.map((s) => [s.number, s.label, s.algorithmType, s.type.value, s.category.value])).toEqual([
      [1, 'Liver', 'MANUAL', '10200004', '91723000'],
      [2, 'Lesion', 'AUTOMATIC', '52988006', '49755003'],
    ]);
    expect(seg.segments[1].algorithmName).toBe('Threshold');
    expect(seg.segments[0].lab).toEqual([41663, 41166, 40794]);
    // Study, patient and frame of reference are the sources'.
    expect(seg.studyInstanceUid).toBe(CT.slice(0).StudyInstanceUID);
    expect(seg.frameOfReferenceUid).toBe(CT.slice(0).FrameOfReferenceUID);
    expect(seg.patientName).toBe('JANCT000');
    expect(seg.pixelSpacing).toEqual(CT.slice(0).PixelSpacing.map(Number));
    // Every source instance is referenced, and each frame derives from the slice it was cut from.
    expect([...seg.referencedInstances].sort()).toEqual([...CT.order].sort());
    expect(seg.referencedSeries).toEqual([CT.slice(0).SeriesInstanceUID]);
    expect(seg.frames.map((f) => [f.segment, f.source, f.dimensionIndexValues])).toEqual([
      [1, CT.order[0], [1, 1]],
      [1, CT.order[1], [1, 2]],
      [2, CT.order[2], [2, 3]],
    ]);
    for (const f of seg.frames) {
      expect(f.sourceClass).toBe(SOP_CLASS.CT);
      expect(f.purpose).toEqual({ value: '121322', scheme: 'DCM', meaning: 'Source image for image processing operation' });
      expect(f.position).toEqual(positionOf(CT.slice(CT.order.indexOf(f.source))));
    }
  });

  test("pydicom's unpacked frames, placed on the source slices, reproduce the label map voxel for voxel", () => {
    const seg = theirs();
    expect(seg.labelMap.length).toBe(input.labelMap.length);
    expect(Buffer.from(Uint8Array.from(seg.labelMap)).equals(Buffer.from(input.labelMap))).toBe(true);
    expect(seg.frames.map((f) => f.pixels)).toEqual([count(input.labelMap.subarray(0, NX * NY)), count(input.labelMap.subarray(NX * NY, 2 * NX * NY)), 900]);
  });

  test('our reader gives back the same label map and segment descriptions', () => {
    const read = readSegmentation(file, CT.order);
    expect(read.segmentationType).toBe('BINARY');
    expect(read.dims).toEqual([NX, NY, NZ]);
    expect(Buffer.from(read.labelMap as Uint8Array).equals(Buffer.from(input.labelMap))).toBe(true);
    expect(read.overlappingVoxels).toBe(0);
    expect(read.segments).toEqual([
      {
        segmentNumber: 1,
        label: 'Liver',
        description: 'a disc standing in for the liver',
        algorithmType: 'MANUAL',
        category: LIVER_DISC.category,
        type: LIVER_DISC.type,
        color: '#dd8265',
        voxelCount: count(input.labelMap, 1),
        slices: [0, 1],
      },
      {
        segmentNumber: 2,
        label: 'Lesion',
        algorithmType: 'AUTOMATIC',
        algorithmName: 'Threshold',
        category: LESION_SQUARE.category,
        type: LESION_SQUARE.type,
        color: '#1e90ff',
        voxelCount: 900,
        slices: [2],
      },
    ]);
    // Reading onto the geometry instead of the bare order gives the same result.
    expect(Buffer.from(readSegmentation(file, CT.geometry).labelMap as Uint8Array).equals(Buffer.from(input.labelMap))).toBe(true);
  });

  test('the same input and seed give the same bytes; the UIDs come from the seed', () => {
    expect(writeSegmentation(ctInput()).equals(file)).toBe(true);
    const other = readDicom(writeSegmentation(ctInput({ uidSeed: 'another seed' })));
    const mine = readDicom(file);
    expect(other.sopInstanceUid).not.toBe(mine.sopInstanceUid);
    expect(other.seriesInstanceUid).not.toBe(mine.seriesInstanceUid);
    const given = readDicom(writeSegmentation(ctInput({ uidSeed: undefined, seriesInstanceUid: '1.2.3.4', sopInstanceUid: '1.2.3.4.5' })));
    expect([given.seriesInstanceUid, given.sopInstanceUid]).toEqual(['1.2.3.4', '1.2.3.4.5']);
  });

  test("frames: 'all' writes every slice for every segment, still valid and still the same voxels", () => {
    const all = writeSegmentation(ctInput({ frames: 'all' }));
    expectValid(all);
    const seg = pydicomSeg(all, CT.order);
    expect(seg.numberOfFrames).toBe(2 * NZ);
    expect(seg.frames.map((f) => f.dimensionIndexValues)).toEqual([
      [1, 1], [1, 2], [1, 3], [2, 1], [2, 2], [2, 3],
    ]);
    expect(Buffer.from(Uint8Array.from(seg.labelMap)).equals(Buffer.from(input.labelMap))).toBe(true);
    expect(Buffer.from(readSegmentation(all, CT.order).labelMap as Uint8Array).equals(Buffer.from(input.labelMap))).toBe(true);
  });

  test('non-ASCII text declares UTF-8 (ISO_IR 192) and reads back intact', () => {
    const file8 = writeSegmentation(ctInput({ segments: [{ ...LIVER_DISC, label: 'Leber (Läsion)' }, LESION_SQUARE] }));
    expectValid(file8);
    const seg = pydicomSeg(file8, CT.order);
    expect(seg.specificCharacterSet).toBe('ISO_IR 192');
    expect(seg.segments[0].label).toBe('Leber (Läsion)');
    expect(theirs().specificCharacterSet).toBeNull();
  });
});

describe('writeSegmentation on a 20-slice synthetic CT phantom (shuffled files)', () => {
  let series: LoadedSeries;
  let labelMap: Uint8Array;
  let file: Buffer;

  beforeAll(async () => {
    const { files } = ctPhantomSeries({ patient: { name: 'Phantom^Seg', id: 'SEG-PHANTOM' }, seed: 'seg-spec/phantom', slices: 20, rows: 96, columns: 96, pixelSpacing: 3.5, sliceThickness: 2.5, shuffle: true });
    series = seriesFromBuffers(files);
    // Label the phantom's own structures from its pixels: the lesion (60 HU) and the vertebra (700 HU).
    const volume = await volumeFromDicomFiles(files);
    expect(volume.geometry.order).toEqual(series.order);
    labelMap = new Uint8Array(volume.data.length);
    for (let v = 0; v < volume.data.length; v++) {
      const hu = volume.data[v] * volume.rescaleSlope + volume.rescaleIntercept;
      labelMap[v] = hu === 60 ? 1 : hu === 700 ? 2 : 0;
    }
    file = writeSegmentation({
      sources: series.datasets,
      order: series.order,
      labelMap,
      segments: [
        { ...LESION_SQUARE, labelValue: 1, label: 'Lung lesion', algorithmName: 'HU window', color: '#ffff00' },
        { labelValue: 2, label: 'Vertebra', type: { value: '51282000', scheme: 'SCT', meaning: 'Spine' }, algorithmType: 'SEMIAUTOMATIC', algorithmName: 'HU window' },
      ],
      seriesDescription: 'Phantom structures',
      softwareVersions: '0.1.0',
      uidSeed: 'seg-spec/phantom-seg',
      contentDateTime: new Date(2024, 0, 1),
    });
  });

  test('the lesion is on the 4 middle slices and the vertebra on all 20', () => {
    const perSlice = (v: number) => Array.from({ length: 20 }, (_, k) => count(labelMap.subarray(k * 96 * 96, (k + 1) * 96 * 96), v) > 0);
    expect(perSlice(1).flatMap((on, k) => (on ? [k] : []))).toEqual([8, 9, 10, 11]);
    expect(perSlice(2).every(Boolean)).toBe(true);
  });

  test('dciodvfy finds no error', () => {
    expectValid(file);
  });

  test("each frame's plane position is its source slice's Image Position (Patient), in slice order", () => {
    const seg = pydicomSeg(file, series.order);
    expect(seg.numberOfFrames).toBe(4 + 20);
    const byUid = new Map(series.datasets.map((d) => [d.SOPInstanceUID as string, d]));
    for (const f of seg.frames) {
      expect(f.position).toEqual(positionOf(byUid.get(f.source)!));
      // The second dimension index is the slice's place in the stack.
      expect(series.order[f.dimensionIndexValues[1] - 1]).toBe(f.source);
    }
    // Slices advance along the normal (here +z, since z decreases with acquisition number).
    const vertebraZ = seg.frames.filter((f) => f.segment === 2).map((f) => f.position[2]);
    expect(vertebraZ).toEqual([...vertebraZ].sort((a, b) => a - b));
    expect(seg.sliceThickness).toBe(2.5);
    expect(Buffer.from(Uint8Array.from(seg.labelMap)).equals(Buffer.from(labelMap))).toBe(true);
  });

  test('our reader round-trips the label map', () => {
    const read = readSegmentation(file, series.geometry);
    expect(Buffer.from(read.labelMap as Uint8Array).equals(Buffer.from(labelMap))).toBe(true);
    expect(read.segments.map((s) => [s.label, s.slices.length, s.voxelCount])).toEqual([
      ['Lung lesion', 4, count(labelMap, 1)],
      ['Vertebra', 20, count(labelMap, 2)],
    ]);
  });
});

describe('writeSegmentation on the 24 real MR slices (Siemens MPRAGE)', () => {
  test('valid for dciodvfy apart from what the source itself lacks, and read back exactly', () => {
    const MR = loadSeries('dicom/series/mr-t1-vs-seg-001');
    const [nx, ny, nz] = MR.dims;
    const map = new Uint8Array(nx * ny * nz);
    for (let k = 5; k < 15; k++) paintDisc(map, MR.dims, k, 310, 220, 8 + k, 1);
    const file = writeSegmentation({
      sources: MR.datasets,
      order: MR.order,
      labelMap: map,
      segments: [{ labelValue: 1, label: 'Vestibular schwannoma', type: { value: '126798008', scheme: 'SCT', meaning: 'Neurilemmoma' }, algorithmType: 'MANUAL' }],
      seriesDescription: 'Tumour',
      softwareVersions: '0.1.0',
      uidSeed: 'seg-spec/mr',
    });
    const { errors, warnings } = dciodvfy(file);
    expect(errors).toEqual([]);
    // The MR's Study ID is empty (Type 2, copied as is), which only matters for building a DICOMDIR.
    expect(warnings.filter((w) => !/Retired Person Name form|needed to build DICOMDIR - Study ID/.test(w))).toEqual([]);
    const read = readSegmentation(file, MR.geometry);
    expect(read.segments[0].slices).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
    expect(Buffer.from(read.labelMap as Uint8Array).equals(Buffer.from(map))).toBe(true);
  });
});

describe('readSegmentation on SEGs made by other tools', () => {
  const dcmqi = fs.readFileSync(path.join(SEGMENTATIONS, 'ct-3slice-liver-seg.dcm'));

  test("dcmqi's liver SEG lands on the CT grid as a plausible liver: all 3 slices, right upper abdomen", () => {
    const read = readSegmentation(dcmqi, CT.order);
    expect(read.segments).toEqual([
      expect.objectContaining({ segmentNumber: 1, label: 'Liver', algorithmType: 'SEMIAUTOMATIC', algorithmName: 'SlicerEditor', color: '#dd8265', slices: [0, 1, 2] }),
    ]);
    expect(read.segments[0].type).toEqual({ value: 'T-62000', scheme: 'SRT', meaning: 'Liver' });
    // About 36 000 pixels (~23 900 mm², 14% of the slice) per slice.
    const perSlice = [0, 1, 2].map((k) => count(read.labelMap.subarray(k * NX * NY, (k + 1) * NX * NY)));
    expect(perSlice).toEqual([36233, 35645, 35220]);
    // The liver lies on the patient's right: negative LPS x, i.e. the left half of these images.
    let sumI = 0;
    for (let p = 0; p < NX * NY; p++) if (read.labelMap[p]) sumI += p % NX;
    const centroidI = sumI / perSlice[0];
    const x = positionOf(CT.slice(0))[0] + centroidI * Number(CT.slice(0).PixelSpacing[1]);
    expect(centroidI).toBeLessThan(NX / 2);
    expect(x).toBeLessThan(0);
  });

  test('pydicom places the same liver voxels', () => {
    const theirs = pydicomSeg(path.join(SEGMENTATIONS, 'ct-3slice-liver-seg.dcm'), CT.order);
    const ours = readSegmentation(dcmqi, CT.order);
    expect(Buffer.from(Uint8Array.from(theirs.labelMap)).equals(Buffer.from(ours.labelMap as Uint8Array))).toBe(true);
  });

  test('the RLE-compressed copy decodes to the same voxels as the uncompressed one', () => {
    const rle = readSegmentation(fs.readFileSync(path.join(SEGMENTATIONS, 'liver-seg-rle.dcm')), CT.order);
    const native = readSegmentation(fs.readFileSync(path.join(SEGMENTATIONS, 'liver-seg-explicit-le.dcm')), CT.order);
    expect(count(native.labelMap)).toBe(107098);
    expect(Buffer.from(rle.labelMap as Uint8Array).equals(Buffer.from(native.labelMap as Uint8Array))).toBe(true);
  });

  test('without matching source references, frames are placed by position on the geometry', () => {
    const renamed = {
      ...CT.geometry,
      order: CT.order.map((_, k) => `not-a-source-${k}`),
      slices: CT.geometry.slices.map((s, k) => ({ ...s, id: `not-a-source-${k}` })),
    };
    const byPosition = readSegmentation(dcmqi, renamed);
    expect(Buffer.from(byPosition.labelMap as Uint8Array).equals(Buffer.from(readSegmentation(dcmqi, CT.order).labelMap as Uint8Array))).toBe(true);
    // With bare UIDs there is nothing to place them by: the error names the frame and the missing instance.
    expect(() => readSegmentation(dcmqi, renamed.order)).toThrow(/Frame 1 of the segmentation derives from SOP instance 1\.2\.392\.\S+, which is not in the series \(3 slices\)/);
  });

  test('overlapping segments: the higher number wins, overlaps are counted, and masks keep each segment whole', () => {
    const file = path.join(SEGMENTATIONS, 'partial-overlaps-seg.dcm');
    const theirs = pydicomSeg(file, CT.order);
    const ours = readSegmentation(fs.readFileSync(file), CT.order, { masks: true });
    expect(ours.segments.map((s) => s.label)).toEqual(['GREEN', 'ORANGE', 'PURPLE', 'LIGHT_BLUE', 'DARK_BLUE']);
    expect(ours.overlappingVoxels).toBe(theirs.overlappingVoxels);
    expect(ours.overlappingVoxels).toBeGreaterThan(0);
    expect(Buffer.from(Uint8Array.from(theirs.labelMap)).equals(Buffer.from(ours.labelMap as Uint8Array))).toBe(true);
    for (const s of ours.segments) {
      const framePixels = theirs.frames.filter((f) => f.segment === s.segmentNumber).reduce((a, f) => a + f.pixels, 0);
      expect(count(ours.masks!.get(s.segmentNumber) ?? [])).toBe(framePixels);
      expect(s.voxelCount).toBe(framePixels);
    }
  });

  test('a LABELMAP SEG (8-bit, pixel value = segment number) reads like pydicom reads it', () => {
    const file = path.join(SEGMENTATIONS, 'sparse-labelmap-seg.dcm');
    const parsed = readDicom(fs.readFileSync(file));
    // Its source series is not in the test data: use the instances its frames reference, in frame order.
    const order: string[] = parsed.dataset.PerFrameFunctionalGroupsSequence.map(
      (fg: any) => fg.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID,
    );
    const ours = readSegmentation(fs.readFileSync(file), order);
    const theirs = pydicomSeg(file, order);
    expect(ours.segmentationType).toBe('LABELMAP');
    expect(ours.segments.map((s) => [s.segmentNumber, s.label])).toEqual([[1, 'Liver']]);
    expect(ours.segments[0].voxelCount).toBe(630);
    expect(Buffer.from(Uint8Array.from(theirs.labelMap)).equals(Buffer.from(ours.labelMap as Uint8Array))).toBe(true);
  });

  test('an implicit VR little endian BINARY SEG (pydicom-data) reads like pydicom reads it', () => {
    const file = path.join(SEGMENTATIONS, 'ct-binary-seg.dcm');
    const parsed = readDicom(fs.readFileSync(file));
    expect(parsed.transferSyntaxUid).toBe('1.2.840.10008.1.2');
    const order: string[] = parsed.dataset.PerFrameFunctionalGroupsSequence.map(
      (fg: any) => fg.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID,
    );
    const ours = readSegmentation(fs.readFileSync(file), order);
    const theirs = pydicomSeg(file, order);
    expect(ours.dims).toEqual([16, 16, 3]);
    expect(count(ours.labelMap)).toBe(theirs.frames.reduce((a, f) => a + f.pixels, 0));
    expect(count(ours.labelMap)).toBeGreaterThan(0);
    expect(Buffer.from(Uint8Array.from(theirs.labelMap)).equals(Buffer.from(ours.labelMap as Uint8Array))).toBe(true);
  });

  test('a file that is not a SEG is refused', () => {
    const ct = fs.readFileSync(path.join(DATA, 'dicom/series/ct-3slice/01.dcm'));
    expect(() => readSegmentation(ct, CT.order)).toThrow('The file is not a DICOM Segmentation (its SOP Class UID is 1.2.840.10008.5.1.4.1.1.2, Modality CT)');
  });
});

describe('edge cases', () => {
  const SPLEEN: SegmentDefinition = { labelValue: 3, label: 'Spleen', type: { value: '78961009', scheme: 'SCT', meaning: 'Spleen' }, algorithmType: 'MANUAL' };

  test('a segment absent from the map is kept in the Segment Sequence, without frames', () => {
    const file = writeSegmentation(ctInput({ segments: [LIVER_DISC, LESION_SQUARE, SPLEEN] }));
    expectValid(file);
    const seg = pydicomSeg(file, CT.order);
    expect(seg.segments.map((s) => s.label)).toEqual(['Liver', 'Lesion', 'Spleen']);
    expect(seg.frames.map((f) => f.segment)).toEqual([1, 1, 2]);
    // Without a category the default is "Anatomical Structure".
    expect(seg.segments[2].category).toEqual({ value: '91723000', scheme: 'SCT', meaning: 'Anatomical Structure' });
    const read = readSegmentation(file, CT.order);
    expect(read.segments[2]).toEqual(expect.objectContaining({ label: 'Spleen', voxelCount: 0, slices: [] }));
  });

  test('an empty map is refused: a SEG needs at least one frame', () => {
    expect(() => writeSegmentation(ctInput({ labelMap: new Uint8Array(NX * NY * NZ) }))).toThrow(
      'The label map has no voxel of any segment (1 "Liver", 2 "Lesion"): a DICOM SEG needs at least one frame, so there is nothing to write',
    );
  });

  test('a map with the wrong number of slices or a wrong slice size is refused', () => {
    expect(() => writeSegmentation(ctInput({ labelMap: new Uint8Array(NX * NY * (NZ + 1)) }))).toThrow('The label map has 4 slices but the series has 3');
    expect(() => writeSegmentation(ctInput({ labelMap: new Uint8Array(256 * 256 * NZ) }))).toThrow(
      'The label map has 196608 voxels, which is not a whole number of 512x512 slices (the series has 3 slices, 786432 voxels)',
    );
  });

  test('a value no segment describes is refused rather than silently dropped', () => {
    const map = ctLabelMap();
    map[5] = 7;
    map[6] = 7;
    expect(() => writeSegmentation(ctInput({ labelMap: map }))).toThrow('The label map holds value 7 on 2 voxels but no segment describes it');
  });

  test('slice order and sources must agree', () => {
    expect(() => writeSegmentation(ctInput({ order: [CT.order[0], CT.order[1], '1.2.3'] }))).toThrow(
      'Slice 2 of the order is SOP instance 1.2.3, which is not among the 3 source datasets',
    );
    expect(() => writeSegmentation(ctInput({ order: [CT.order[0], CT.order[0], CT.order[2]] }))).toThrow(/appears twice in the slice order/);
  });

  test('segment descriptions DICOM would reject are refused with the reason', () => {
    expect(() => writeSegmentation(ctInput({ segments: [LIVER_DISC, { ...LESION_SQUARE, algorithmName: undefined }] }))).toThrow(
      'segment "Lesion" (label value 2) is AUTOMATIC but has no algorithmName; DICOM requires the algorithm\'s name unless the segment is MANUAL',
    );
    expect(() => writeSegmentation(ctInput({ segments: [LIVER_DISC, { ...LESION_SQUARE, labelValue: 1 }] }))).toThrow('Label value 1 is described by more than one segment');
    expect(() => writeSegmentation(ctInput({ segments: [LIVER_DISC, { ...LESION_SQUARE, label: 'x'.repeat(65) }] }))).toThrow(/is 65 characters long; DICOM allows at most 64/);
    expect(() => writeSegmentation(ctInput({ segments: [LIVER_DISC, { ...LESION_SQUARE, color: '#12345' }] }))).toThrow('The colour "#12345" is not of the form #rrggbb');
  });

  test('without UIDs or a seed to derive them, the writer says what it needs', () => {
    expect(() => writeSegmentation(ctInput({ uidSeed: undefined }))).toThrow('The segmentation needs a seriesInstanceUid and a sopInstanceUid, or a uidSeed to derive them from');
  });
});

describe('writeSegmentation on a radiograph (no patient geometry)', () => {
  // A DX image has no Image Position/Orientation (Patient) and no Frame of Reference: the SEG is pixel for pixel on
  // the one image (as highdicom writes it), without plane positions, orientation, pixel measures or frame of reference.
  const dx = readDicom(fs.readFileSync(path.join(DATA, 'dicom/modalities/dx-xray.dcm'))).dataset as Record<string, any>;
  const [columns, rows] = [Number(dx.Columns), Number(dx.Rows)];
  const map = new Uint8Array(columns * rows);
  paintSquare(map, [columns, rows, 1], 0, 40, 30, 50, 2);
  const input = (overrides: Partial<SegmentationInput> = {}): SegmentationInput => ({
    sources: [dx],
    order: [dx.SOPInstanceUID],
    labelMap: map,
    segments: [LESION_SQUARE],
    seriesDescription: 'Draft on a radiograph',
    softwareVersions: '0.1.0',
    uidSeed: 'seg-spec/dx',
    ...overrides,
  });

  test('dciodvfy finds no error, and the frame references the image', () => {
    const file = writeSegmentation(input());
    const { errors, warnings } = dciodvfy(file);
    expect(errors).toEqual([]);
    expect(warnings).toEqual([]);
    const seg = readDicom(file).dataset as Record<string, any>;
    expect(seg.FrameOfReferenceUID).toBeUndefined();
    expect(seg.NumberOfFrames).toBe(1);
    expect(seg.DimensionIndexSequence.map((d: Record<string, unknown>) => d.DimensionDescriptionLabel)).toEqual(['ReferencedSegmentNumber']);
    const frame = seg.PerFrameFunctionalGroupsSequence[0];
    expect(frame.PlanePositionSequence).toBeUndefined();
    expect(frame.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID).toBe(dx.SOPInstanceUID);
  });

  test('our reader puts the square back pixel for pixel (as segment 1)', () => {
    const read = readSegmentation(writeSegmentation(input()), [dx.SOPInstanceUID]);
    expect(read.segments.map((x) => [x.segmentNumber, x.label, x.voxelCount])).toEqual([[1, 'Lesion', 2500]]);
    expect(Array.from(read.labelMap).every((v, i) => v === (map[i] === 2 ? 1 : 0))).toBe(true);
  });

  test('two such images cannot share one SEG, and an RTSTRUCT of one is refused (no patient coordinates)', () => {
    const other = { ...dx, SOPInstanceUID: `${dx.SOPInstanceUID}.2` };
    expect(() => writeSegmentation(input({ sources: [dx, other], order: [dx.SOPInstanceUID, other.SOPInstanceUID], labelMap: new Uint8Array(map.length * 2).fill(2) }))).toThrow(
      /has no Image Position \(Patient\).*one image at a time/,
    );
    expect(() => writeRtStruct({ ...input(), structureSetLabel: 'X' } as never)).toThrow(/has no Image Position \(Patient\), so its slice cannot be placed$/);
  });
});

describe('writeSegmentation and writeRtStruct on an enhanced (multi-frame) CT', () => {
  // One instance, two frames 10 mm apart: positions, orientation and pixel spacing live in its functional groups,
  // and each slice of the map is a frame, referenced by its frame number.
  const ENHANCED = seriesFromBuffers([fs.readFileSync(path.join(DATA, 'dicom/modalities/enhanced-ct-2frames.dcm'))]);
  const [columns, rows] = ENHANCED.dims;
  const uid = ENHANCED.order[0];
  const { ids, frames } = sliceSources(ENHANCED.geometry);
  const map = new Uint8Array(columns * rows * 2);
  paintDisc(map, ENHANCED.dims, 0, 200, 200, 40, 1);
  paintSquare(map, ENHANCED.dims, 1, 300, 260, 30, 2);
  const input = (overrides: Partial<SegmentationInput> = {}): SegmentationInput => ({
    sources: ENHANCED.datasets,
    order: ids,
    sourceFrames: frames,
    labelMap: map,
    segments: [LIVER_DISC, LESION_SQUARE],
    seriesDescription: 'SEG of an enhanced CT',
    softwareVersions: '0.1.0',
    uidSeed: 'seg-spec/enhanced-ct',
    ...overrides,
  });

  test('the series geometry gives one slice per frame of the one instance (sorted along the normal: this file stores them against it)', () => {
    expect(ids).toEqual([uid, uid]);
    expect(frames).toEqual([2, 1]);
  });

  test('dciodvfy finds no error; each frame derives from its source frame at that frame\'s position', () => {
    const file = writeSegmentation(input());
    expectValid(file);
    const seg = readDicom(file).dataset as Record<string, any>;
    const source = ENHANCED.datasets[0];
    expect(seg.ReferencedSeriesSequence[0].ReferencedInstanceSequence.map((r: Record<string, unknown>) => r.ReferencedSOPInstanceUID)).toEqual([uid]);
    expect(seg.PixelSpacing ?? seg.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0].PixelSpacing).toEqual(
      source.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0].PixelSpacing.map(Number),
    );
    const placed = seg.PerFrameFunctionalGroupsSequence.map((f: Record<string, any>) => {
      const ref = f.DerivationImageSequence[0].SourceImageSequence[0];
      return [f.SegmentIdentificationSequence[0].ReferencedSegmentNumber, ref.ReferencedSOPInstanceUID, ref.ReferencedFrameNumber, f.PlanePositionSequence[0].ImagePositionPatient.map(Number)];
    });
    const framePosition = (k: number) => source.PerFrameFunctionalGroupsSequence[k].PlanePositionSequence[0].ImagePositionPatient.map(Number);
    expect(placed).toEqual([
      [1, uid, frames![0], framePosition(frames![0] - 1)],
      [2, uid, frames![1], framePosition(frames![1] - 1)],
    ]);
  });

  test('our reader and pydicom put the map back on the frames voxel for voxel', () => {
    const file = writeSegmentation(input());
    const read = readSegmentation(file, ENHANCED.geometry);
    expect(Array.from(read.labelMap).every((v, i) => v === map[i])).toBe(true);
    const theirs = pydicomSeg(file, ENHANCED.order);
    expect(theirs.frames.map((f) => [f.segment, f.source])).toEqual([
      [1, uid],
      [2, uid],
    ]);
  });

  test('an RTSTRUCT references each contour\'s frame; dciodvfy finds no error', () => {
    const file = writeRtStruct({ ...input(), structureSetLabel: 'ENHANCED' });
    const { errors } = dciodvfy(file);
    expect(errors).toEqual([]);
    const rt = readDicom(file).dataset as Record<string, any>;
    const contourFrames = rt.ROIContourSequence.map((roi: Record<string, any>) => roi.ContourSequence.map((c: Record<string, any>) => c.ContourImageSequence[0].ReferencedFrameNumber));
    expect(contourFrames).toEqual([[frames![0]], [frames![1]]]);
  });

  test.each([
    ['no frame numbers for a multi-frame source', { sourceFrames: undefined }, /has 2 frames: give the frame number of each slice/],
    ['a frame the instance does not have', { sourceFrames: [1, 3] }, /Slice 1 refers to frame 3 of SOP instance .*, which has 2 frames$/],
    ['the same frame twice', { sourceFrames: [2, 2] }, /Frame 2 of SOP instance .* appears twice in the slice order \(slices 0 and 1\)/],
    ['frame numbers that do not match the order', { sourceFrames: [1] }, /The slice order has 2 slices but 1 frame numbers were given/],
  ])('refuses %s with a clear error', (_, overrides, message) => {
    expect(() => writeSegmentation(input(overrides as Partial<SegmentationInput>))).toThrow(message);
  });

  test('slices cut from one single-frame image (mosaic tiles) cannot be referenced: the error says so', () => {
    const dx = readDicom(fs.readFileSync(path.join(DATA, 'dicom/modalities/ct-small.dcm'))).dataset as Record<string, any>;
    const size = Number(dx.Rows) * Number(dx.Columns);
    expect(() => writeSegmentation(input({ sources: [dx], order: [dx.SOPInstanceUID, dx.SOPInstanceUID], sourceFrames: [1, 2], labelMap: new Uint8Array(size * 2) }))).toThrow(
      /refers to frame 2 of SOP instance .*, which has 1 frame \(slices cut from one image, such as mosaic tiles, cannot be referenced\)/,
    );
  });
});

describe('writeSegmentation on frames of an ultrasound cine (no patient geometry)', () => {
  // Eight frames, no frame of reference, no plane positions: the SEG is pixel for pixel on the frames it covers,
  // each SEG frame naming its source frame and told apart by its time point (Temporal Position Index).
  const us = readDicom(fs.readFileSync(path.join(DATA, 'dicom/modalities/us-multiframe-8.dcm'))).dataset as Record<string, any>;
  const [columns, rows] = [Number(us.Columns), Number(us.Rows)];
  const map = new Uint8Array(columns * rows * 3);
  for (let k = 0; k < 3; k++) paintSquare(map, [columns, rows, 3], k, 40 + 10 * k, 30, 50, 2);
  const input = (overrides: Partial<SegmentationInput> = {}): SegmentationInput => ({
    sources: [us],
    order: [us.SOPInstanceUID, us.SOPInstanceUID, us.SOPInstanceUID],
    sourceFrames: [3, 4, 5],
    labelMap: map,
    segments: [LESION_SQUARE],
    seriesDescription: 'Draft on a cine',
    softwareVersions: '0.1.0',
    uidSeed: 'seg-spec/us-cine',
    ...overrides,
  });

  test('dciodvfy finds no error; every frame references its cine frame', () => {
    const file = writeSegmentation(input());
    const { errors, warnings } = dciodvfy(file);
    expect(errors).toEqual([]);
    // The cine itself has no Patient ID or Study ID and a retired-form name, which the SEG copies from it.
    expect(warnings.filter((w) => !/needed to build DICOMDIR - (Patient ID|Study ID)$/.test(w) && !ACCEPTED_WARNINGS.some((a) => a.test(w)))).toEqual([]);
    const seg = readDicom(file).dataset as Record<string, any>;
    expect(seg.FrameOfReferenceUID).toBeUndefined();
    expect(seg.DimensionIndexSequence.map((d: Record<string, unknown>) => d.DimensionDescriptionLabel)).toEqual(['ReferencedSegmentNumber', 'TemporalPositionIndex']);
    expect(
      seg.PerFrameFunctionalGroupsSequence.map((f: Record<string, any>) => [f.DerivationImageSequence[0].SourceImageSequence[0].ReferencedFrameNumber, f.FrameContentSequence[0].DimensionIndexValues]),
    ).toEqual([
      [3, [1, 1]],
      [4, [1, 2]],
      [5, [1, 3]],
    ]);
  });

  test('our reader puts the squares back on their frames', () => {
    const uid = us.SOPInstanceUID as string;
    const grid = { order: input().order, dims: [columns, rows, 3] as [number, number, number], slices: [2, 3, 4].map((frame) => ({ id: uid, frame })), direction: { normal: [0, 0, 1] }, spacing: [1, 1, 1] };
    const read = readSegmentation(writeSegmentation(input()), grid);
    expect(Array.from(read.labelMap).every((v, i) => v === (map[i] === 2 ? 1 : 0))).toBe(true);
  });
});
