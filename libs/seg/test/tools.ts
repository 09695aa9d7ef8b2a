// Test support for @contour/seg: the shared test data, and the reference tools the output is checked with:
// dciodvfy (dicom3tools' IOD validator) and pydicom (Debian's /usr/bin/python3, which has it; the pyenv
// `python3` does not). Lives outside src/ so the build never compiles it.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readDicom, type ParsedDicom } from '@contour/dicom';
import { computeSeriesGeometry, instanceGeometryFromDicom, type SeriesGeometry } from '@contour/volume';

export const DATA = process.env.CONTOUR_TEST_DATA ?? path.resolve(__dirname, '../../../../shared/data');
const PYTHON = '/usr/bin/python3';
const SCRIPT = path.join(__dirname, 'pydicom_read.py');

export interface LoadedSeries {
  parsed: ParsedDicom[];
  datasets: Record<string, any>[];
  geometry: SeriesGeometry;
  order: string[];
  dims: [number, number, number];
  /** The source dataset of slice k. */
  slice(k: number): Record<string, any>;
}

export function seriesFromBuffers(files: Buffer[]): LoadedSeries {
  const parsed = files.map((f) => readDicom(f));
  const geometry = computeSeriesGeometry(parsed.map((p) => instanceGeometryFromDicom(p)));
  const byUid = new Map(parsed.map((p) => [p.sopInstanceUid, p.dataset]));
  return {
    parsed,
    datasets: parsed.map((p) => p.dataset),
    geometry,
    order: geometry.order,
    dims: geometry.dims,
    slice: (k) => byUid.get(geometry.order[k])!,
  };
}

export function loadSeries(rel: string): LoadedSeries {
  const dir = path.join(DATA, rel);
  return seriesFromBuffers(fs.readdirSync(dir).sort().map((f) => fs.readFileSync(path.join(dir, f))));
}

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'contour-seg-'));
}

/** Runs dciodvfy on a file; returns its "Error" and "Warning" lines. */
export function dciodvfy(file: Buffer): { errors: string[]; warnings: string[]; output: string } {
  const dir = tempDir();
  try {
    const p = path.join(dir, 'object.dcm');
    fs.writeFileSync(p, file);
    const r = spawnSync('/usr/bin/dciodvfy', [p], { encoding: 'utf8' });
    const output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
    const lines = output.split('\n');
    return { errors: lines.filter((l) => /^Error/.test(l)), warnings: lines.filter((l) => /^Warning/.test(l)), output };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export interface PydicomSeg {
  sopClassUid: string;
  modality: string;
  numberOfFrames: number;
  segmentationType: string;
  bitsAllocated: number;
  specificCharacterSet: string | string[] | null;
  patientName: string;
  studyInstanceUid: string;
  frameOfReferenceUid: string;
  orientation: number[];
  pixelSpacing: number[];
  sliceThickness: number;
  segments: { number: number; label: string; algorithmType: string; algorithmName: string; lab: number[] | null; category: Code; type: Code }[];
  referencedInstances: string[];
  referencedSeries: string[];
  frames: { segment: number; source: string; sourceClass: string; purpose: Code | null; position: number[]; dimensionIndexValues: number[]; pixels: number }[];
  overlappingVoxels: number;
  /** The frames placed on the given slice order (segment number per voxel, higher wins). */
  labelMap: Uint16Array;
}
type Code = { value: string; scheme: string; meaning: string };

/** Reads a SEG (a file path or a buffer) with pydicom and places its frames on `order`. */
export function pydicomSeg(file: Buffer | string, order: string[]): PydicomSeg {
  const dir = tempDir();
  try {
    const p = typeof file === 'string' ? file : path.join(dir, 'seg.dcm');
    if (typeof file !== 'string') fs.writeFileSync(p, file);
    fs.writeFileSync(path.join(dir, 'order.json'), JSON.stringify(order));
    const out = execFileSync(PYTHON, ['-W', 'ignore', SCRIPT, 'seg', p, path.join(dir, 'order.json'), path.join(dir, 'labels.raw')], { encoding: 'utf8', maxBuffer: 256 << 20 });
    const raw = fs.readFileSync(path.join(dir, 'labels.raw'));
    const labelMap = new Uint16Array(raw.length / 2);
    for (let i = 0; i < labelMap.length; i++) labelMap[i] = raw.readUInt16LE(i * 2);
    return { ...JSON.parse(out), labelMap };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export interface PydicomRt {
  sopClassUid: string;
  modality: string;
  structureSetLabel: string;
  referencedFrameOfReference: string;
  contourImages: string[];
  rois: { number: number; name: string; frameOfReference: string; algorithm: string }[];
  contours: { roi: number; color: number[] | null; contours: { image: string; type: string; count: number; points: number[] }[] }[];
  observations: { roi: number; interpretedType: string }[];
}

export function pydicomRt(file: Buffer): PydicomRt {
  const dir = tempDir();
  try {
    const p = path.join(dir, 'rt.dcm');
    fs.writeFileSync(p, file);
    return JSON.parse(execFileSync(PYTHON, ['-W', 'ignore', SCRIPT, 'rt', p], { encoding: 'utf8', maxBuffer: 256 << 20 }));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** pydicom's own bit packing of a 0/1 array. */
export function pydicomPackBits(bits: Uint8Array): Buffer {
  const dir = tempDir();
  try {
    const p = path.join(dir, 'bits.raw');
    fs.writeFileSync(p, bits);
    return Buffer.from(execFileSync(PYTHON, ['-W', 'ignore', SCRIPT, 'pack', p], { encoding: 'utf8' }).trim(), 'hex');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Labels (0/1) of the pixels whose centres lie inside an odd number of the polygons (even-odd rule). */
export function rasterizeEvenOdd(polygons: number[][][], width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height);
  for (let j = 0; j < height; j++) {
    const y = j;
    const crossings: number[] = [];
    for (const poly of polygons) {
      for (let p = 0; p < poly.length; p++) {
        const [x0, y0] = poly[p];
        const [x1, y1] = poly[(p + 1) % poly.length];
        if (y0 <= y !== y1 <= y) crossings.push(x0 + ((y - y0) * (x1 - x0)) / (y1 - y0));
      }
    }
    crossings.sort((a, b) => a - b);
    for (let c = 0; c + 1 < crossings.length; c += 2) {
      for (let i = Math.max(0, Math.ceil(crossings[c])); i < Math.min(width, crossings[c + 1]); i++) out[j * width + i] ^= 1;
    }
  }
  return out;
}
