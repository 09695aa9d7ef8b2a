// Siemens MOSAIC images: one DICOM image holding a whole EPI/DTI volume as a grid of tiles (e.g. 384x384 = 6x6
// tiles of 64x64 for 35 slices). The tile count is only in private data: (0019,100A) NumberOfImagesInMosaic in
// the "SIEMENS MR HEADER" block, or the CSA image header (0029,1010). De-identification must keep (0019,100A),
// or the volume cannot be rebuilt.
//
// Layout (as dcm2niix): the grid is ceil(sqrt(n)) tiles on each side, tile t sits at grid row floor(t / grid) and
// grid column t % grid, and tile t is slice t of the acquisition. ImagePositionPatient describes the top-left
// pixel of the whole mosaic as if it were one large slice centred on the real ones, so the first real slice
// starts (mosaicSize - tileSize) / 2 pixels further along the row and column directions.
import type * as dcmjs from 'dcmjs';
import { PixelDecodeError } from './pixel-decode-error';
import type { VoxelArray } from './voxel-data';
import { allocateLike } from './voxel-data';

export interface MosaicLayout {
  /** Number of real slices (tiles holding data). */
  images: number;
  /** Tiles per side of the grid. */
  grid: number;
  tileRows: number;
  tileColumns: number;
  mosaicRows: number;
  mosaicColumns: number;
  /** CSA SliceNormalVector when present: the direction in which tile index increases (LPS). */
  sliceNormal?: [number, number, number];
}

type Dict = Record<string, dcmjs.data.DicomElement>;

function bytesOf(value: unknown): Uint8Array | undefined {
  if (value instanceof ArrayBuffer || Object.prototype.toString.call(value) === '[object ArrayBuffer]') return new Uint8Array(value as ArrayBuffer);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return undefined;
}

/** A private element read as a number, whether dcmjs knew its VR (explicit VR) or kept raw bytes (implicit: UN). */
function privateNumber(dict: Dict, tag: string): number | undefined {
  const v = dict[tag]?.Value?.[0];
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '') return Number(v.trim());
  const b = bytesOf(v);
  if (!b) return undefined;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.byteLength === 2) return view.getUint16(0, true);
  if (b.byteLength === 4) return view.getUint32(0, true);
  const text = Buffer.from(b).toString('latin1').replace(/\0/g, '').trim();
  return text && /^\d+$/.test(text) ? Number(text) : undefined;
}

function privateText(dict: Dict, tag: string): string | undefined {
  const v = dict[tag]?.Value?.[0];
  if (typeof v === 'string') return v;
  const b = bytesOf(v);
  return b ? Buffer.from(b).toString('latin1').replace(/\0/g, '').trim() : undefined;
}

/** Parses a Siemens CSA2 ("SV10") header into name -> non-empty item strings. Returns an empty map otherwise. */
export function parseCsaHeader(bytes: Uint8Array): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (bytes.byteLength < 16 || Buffer.from(bytes.subarray(0, 4)).toString('latin1') !== 'SV10') return out;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tags = view.getUint32(8, true);
  let p = 16;
  for (let t = 0; t < tags && p + 84 <= bytes.byteLength; t++) {
    const nameBytes = bytes.subarray(p, p + 64);
    const name = Buffer.from(nameBytes.subarray(0, Math.max(0, nameBytes.indexOf(0)) || 64)).toString('latin1');
    const items = view.getUint32(p + 76, true);
    p += 84;
    const values: string[] = [];
    for (let i = 0; i < items && p + 16 <= bytes.byteLength; i++) {
      const length = view.getUint32(p + 4, true);
      p += 16;
      if (p + length > bytes.byteLength) return out;
      const text = Buffer.from(bytes.subarray(p, p + length)).toString('latin1').replace(/\0[\s\S]*$/, '').trim();
      if (text) values.push(text);
      p += Math.ceil(length / 4) * 4;
    }
    out.set(name, values);
  }
  return out;
}

function imageTypeIncludesMosaic(dataset: Record<string, any>): boolean {
  const t = dataset.ImageType;
  const values: unknown[] = Array.isArray(t) ? t : typeof t === 'string' ? t.split('\\') : [];
  return values.some((v) => typeof v === 'string' && v.trim().toUpperCase() === 'MOSAIC');
}

/**
 * The mosaic layout of a Siemens MOSAIC image, or undefined for any other image.
 * @throws PixelDecodeError('mosaic-count-missing') for a MOSAIC whose tile count was stripped.
 */
export function mosaicLayout(dataset: Record<string, any>, dict: Dict): MosaicLayout | undefined {
  if (!imageTypeIncludesMosaic(dataset)) return undefined;
  const mosaicRows = Number(dataset.Rows);
  const mosaicColumns = Number(dataset.Columns);
  // (0019,100A) means NumberOfImagesInMosaic only inside the Siemens block (0019,0010); an absent creator is
  // tolerated because some anonymizers drop creators but keep the elements.
  const creator = privateText(dict, '00190010');
  let images = creator === undefined || /SIEMENS MR HEADER/i.test(creator) ? privateNumber(dict, '0019100A') : undefined;
  const csaBytes = bytesOf(dict['00291010']?.Value?.[0]);
  const csa = csaBytes ? parseCsaHeader(csaBytes) : new Map<string, string[]>();
  if (!images) {
    const fromCsa = Number(csa.get('NumberOfImagesInMosaic')?.[0]);
    if (fromCsa > 0) images = fromCsa;
  }
  if (!images || !Number.isInteger(images) || images < 1) {
    throw new PixelDecodeError(
      'mosaic-count-missing',
      'This Siemens MOSAIC image does not say how many slices it holds (private tag (0019,100A) NumberOfImagesInMosaic and the CSA header (0029,1010) are missing), so its tiles cannot be stacked into a volume: re-export it keeping the Siemens private tags (configure the de-identification to retain (0019,100A))',
    );
  }
  const grid = Math.ceil(Math.sqrt(images));
  if (mosaicRows % grid || mosaicColumns % grid) {
    throw new PixelDecodeError(
      'unsupported-pixel-format',
      `The MOSAIC image is ${mosaicColumns}x${mosaicRows} pixels, which does not split into a ${grid}x${grid} grid for ${images} slices: the image or its (0019,100A) value is inconsistent`,
    );
  }
  const normal = csa.get('SliceNormalVector')?.map(Number);
  return {
    images,
    grid,
    tileRows: mosaicRows / grid,
    tileColumns: mosaicColumns / grid,
    mosaicRows,
    mosaicColumns,
    sliceNormal: normal && normal.length === 3 && normal.every(Number.isFinite) ? [normal[0], normal[1], normal[2]] : undefined,
  };
}

/**
 * Cuts a decoded mosaic (one frame, samples interleaved) into its tiles, stacked as frames in tile order.
 * Tile t becomes frame t; rows keep their DICOM top-to-bottom order.
 */
export function untileMosaic(mosaic: VoxelArray, layout: MosaicLayout, samplesPerPixel = 1): VoxelArray {
  const { grid, tileRows, tileColumns, mosaicColumns, images } = layout;
  const rowLength = tileColumns * samplesPerPixel;
  const out = allocateLike(mosaic, images * tileRows * rowLength);
  let o = 0;
  for (let t = 0; t < images; t++) {
    const top = Math.floor(t / grid) * tileRows;
    const left = (t % grid) * tileColumns;
    for (let r = 0; r < tileRows; r++) {
      const start = ((top + r) * mosaicColumns + left) * samplesPerPixel;
      out.set(mosaic.subarray(start, start + rowLength), o);
      o += rowLength;
    }
  }
  return out;
}
