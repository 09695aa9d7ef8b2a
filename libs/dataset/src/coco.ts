// Pure builders of COCO object-detection/segmentation JSON for 2D exports (X-ray, mammography, a slice).
//
// Masks here are row-major (index = y·width + x), as everything else in Contour stores them. COCO's RLE is the
// opposite: pycocotools encodes Fortran-order (column-major) arrays, so runs go down each column first, and
// the counts always start with a run of zeros (0 when the first pixel is set). Getting this transposed is the
// classic bug: the mask then decodes mirrored across the diagonal, with the right area, so nothing fails loudly.
//
// Box convention: boxes are continuous pixel-edge coordinates [x0, y0, x1, y1]; a mask's box covers whole
// pixels, so a single pixel at (3, 2) has bbox [3, 2, 1, 1] (pycocotools' toBbox gives the same).
// Annotations are written with iscrowd 0 whatever their segmentation form: COCO evaluation ignores iscrowd 1
// annotations as ground truth, which would silently drop every mask from an evaluation.

export type CocoBox = [x: number, y: number, width: number, height: number];

export interface CocoRle {
  /** [height, width], as pycocotools has it. */
  size: [number, number];
  counts: number[];
}

export interface CocoImageInput {
  id: number;
  fileName: string;
  width: number;
  height: number;
  /** The Contour case the image came from; written as `case_id` so an image can be traced back. */
  caseId?: string;
}

export interface CocoCategoryInput {
  id: number;
  name: string;
  supercategory?: string;
}

interface CocoAnnotationBase {
  imageId: number;
  categoryId: number;
}
/** One annotation from exactly one of: a mask (the image's size, row-major), a box, or polygons. */
export type CocoAnnotationInput =
  | (CocoAnnotationBase & { mask: ArrayLike<number>; /** foreground value; default: any non-zero */ label?: number })
  | (CocoAnnotationBase & { box: readonly [number, number, number, number] })
  | (CocoAnnotationBase & { polygons: ReadonlyArray<readonly number[]> });

export interface CocoDatasetInput {
  info?: { description?: string; version?: string; year?: number; contributor?: string; url?: string; dateCreated?: string };
  licenses?: Array<{ id: number; name: string; url?: string }>;
  images: readonly CocoImageInput[];
  categories: readonly CocoCategoryInput[];
  annotations: readonly CocoAnnotationInput[];
}

export interface CocoImage {
  id: number;
  file_name: string;
  width: number;
  height: number;
  case_id?: string;
}

export interface CocoCategory {
  id: number;
  name: string;
  supercategory: string;
}

export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  /** Uncompressed RLE for masks, polygons [[x1,y1,x2,y2,…]] for polygons, [] for a box alone. */
  segmentation: CocoRle | number[][];
  area: number;
  bbox: CocoBox;
  iscrowd: 0;
}

export interface CocoDataset {
  info: { description?: string; version?: string; year?: number; contributor?: string; url?: string; date_created?: string };
  licenses: Array<{ id: number; name: string; url?: string }>;
  images: CocoImage[];
  annotations: CocoAnnotation[];
  categories: CocoCategory[];
}

function assertMaskSize(mask: ArrayLike<number>, width: number, height: number): void {
  if (!(Number.isInteger(width) && width >= 1 && Number.isInteger(height) && height >= 1)) throw new RangeError(`Mask size must be whole numbers >= 1, got ${width} x ${height}`);
  if (mask.length !== width * height) throw new RangeError(`Mask has ${mask.length} pixels but ${width} x ${height} = ${width * height} were expected`);
}

const isForeground = (label: number | undefined) => (label === undefined ? (v: number) => v !== 0 : (v: number) => v === label);

/**
 * COCO uncompressed RLE of the pixels equal to `label` (any non-zero pixel when omitted) in a row-major mask:
 * runs in column-major order, alternating background/foreground, starting with background.
 */
export function maskToCocoRle(mask: ArrayLike<number>, width: number, height: number, label?: number): CocoRle {
  assertMaskSize(mask, width, height);
  const on = isForeground(label);
  const counts: number[] = [];
  let current = false; // COCO's first run is background, possibly of length 0
  let run = 0;
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) {
      const value = on(mask[y * width + x]);
      if (value !== current) {
        counts.push(run);
        run = 0;
        current = value;
      }
      run++;
    }
  }
  counts.push(run);
  return { size: [height, width], counts };
}

/** Decodes uncompressed COCO RLE into a row-major 0/1 mask (the inverse of {@link maskToCocoRle}). */
export function cocoRleToMask(rle: CocoRle): Uint8Array {
  const [height, width] = rle.size;
  const mask = new Uint8Array(width * height);
  let position = 0;
  rle.counts.forEach((count, i) => {
    if (!(Number.isInteger(count) && count >= 0)) throw new RangeError(`RLE count ${i} is ${count}; counts must be whole numbers >= 0`);
    if (position + count > width * height) throw new RangeError(`RLE counts cover more than the ${width} x ${height} = ${width * height} pixels of the mask`);
    if (i % 2 === 1) {
      for (let p = position; p < position + count; p++) mask[(p % height) * width + Math.floor(p / height)] = 1;
    }
    position += count;
  });
  if (position !== width * height) throw new RangeError(`RLE counts cover ${position} pixels, the ${width} x ${height} mask has ${width * height}`);
  return mask;
}

/** Foreground pixel count of a mask (COCO's area of a mask annotation). */
export function maskArea(mask: ArrayLike<number>, width: number, height: number, label?: number): number {
  assertMaskSize(mask, width, height);
  const on = isForeground(label);
  let area = 0;
  for (let i = 0; i < mask.length; i++) if (on(mask[i])) area++;
  return area;
}

/** [x, y, width, height] of the whole pixels holding the foreground; null for an empty mask. */
export function bboxOfMask(mask: ArrayLike<number>, width: number, height: number, label?: number): CocoBox | null {
  assertMaskSize(mask, width, height);
  const on = isForeground(label);
  let x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (on(mask[y * width + x])) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  return x1 < 0 ? null : [x0, y0, x1 - x0 + 1, y1 - y0 + 1];
}

/** [x0, y0, x1, y1] corners → COCO [x, y, width, height]. */
export function boxToCoco(box: readonly [number, number, number, number]): CocoBox {
  if (!Array.isArray(box) || box.length !== 4 || !box.every(Number.isFinite)) throw new RangeError(`A box is four finite numbers [x0, y0, x1, y1], got ${JSON.stringify(box)}`);
  const [x0, y0, x1, y1] = box;
  if (x1 < x0 || y1 < y0) throw new RangeError(`Box [${box.join(', ')}] has x1 < x0 or y1 < y0; expected [x0, y0, x1, y1] with the top-left corner first`);
  return [x0, y0, x1 - x0, y1 - y0];
}

/** Area of a simple polygon [x1, y1, x2, y2, …] by the shoelace formula. */
export function polygonArea(polygon: readonly number[]): number {
  let twice = 0;
  const n = polygon.length / 2;
  for (let i = 0; i < n; i++) {
    const j = (i + 1) % n;
    twice += polygon[2 * i] * polygon[2 * j + 1] - polygon[2 * j] * polygon[2 * i + 1];
  }
  return Math.abs(twice) / 2;
}

function assertPolygon(polygon: readonly number[], where: string): void {
  if (!Array.isArray(polygon) || polygon.length < 6 || polygon.length % 2 !== 0 || !polygon.every(Number.isFinite)) {
    throw new RangeError(`${where}: a polygon is at least three points as [x1, y1, x2, y2, …] of finite numbers, got ${polygon.length} numbers`);
  }
}

function polygonsBox(polygons: ReadonlyArray<readonly number[]>): CocoBox {
  const xs = polygons.flatMap((p) => p.filter((_, i) => i % 2 === 0));
  const ys = polygons.flatMap((p) => p.filter((_, i) => i % 2 === 1));
  const [x0, y0] = [Math.min(...xs), Math.min(...ys)];
  return [x0, y0, Math.max(...xs) - x0, Math.max(...ys) - y0];
}

function assertUniqueIds<T extends { id: number }>(items: readonly T[], what: string): Map<number, T> {
  const byId = new Map<number, T>();
  for (const item of items) {
    if (!(Number.isInteger(item.id) && item.id >= 0)) throw new RangeError(`COCO ${what} id ${String(item.id)} is not a whole number >= 0`);
    if (byId.has(item.id)) throw new RangeError(`COCO ${what} id ${item.id} is used twice`);
    byId.set(item.id, item);
  }
  return byId;
}

/** A complete COCO dataset; annotation ids are 1, 2, … in input order. */
export function cocoDataset(input: CocoDatasetInput): CocoDataset {
  const images = assertUniqueIds(input.images, 'image');
  for (const image of input.images) {
    if (typeof image.fileName !== 'string' || image.fileName === '') throw new RangeError(`COCO image ${image.id} has no file name`);
    if (!(Number.isInteger(image.width) && image.width >= 1 && Number.isInteger(image.height) && image.height >= 1)) {
      throw new RangeError(`COCO image ${image.id} has size ${image.width} x ${image.height}; width and height must be whole numbers >= 1`);
    }
  }
  const categories = assertUniqueIds(input.categories, 'category');
  const names = new Set<string>();
  for (const category of input.categories) {
    if (typeof category.name !== 'string' || category.name === '') throw new RangeError(`COCO category ${category.id} has no name`);
    if (names.has(category.name)) throw new RangeError(`COCO category name "${category.name}" is used twice`);
    names.add(category.name);
  }

  const annotations = input.annotations.map((a, index): CocoAnnotation => {
    const where = `COCO annotation ${index + 1}`;
    const image = images.get(a.imageId);
    if (!image) throw new RangeError(`${where} refers to image ${a.imageId}, which is not in the images`);
    if (!categories.has(a.categoryId)) throw new RangeError(`${where} refers to category ${a.categoryId}, which is not in the categories`);
    const forms = ['mask', 'box', 'polygons'].filter((k) => k in a);
    if (forms.length !== 1) throw new RangeError(`${where} must have exactly one of mask, box or polygons, got ${forms.length === 0 ? 'none' : forms.join(' and ')}`);
    const base = { id: index + 1, image_id: a.imageId, category_id: a.categoryId, iscrowd: 0 as const };
    if ('mask' in a) {
      if (a.mask.length !== image.width * image.height) {
        throw new RangeError(`${where}: mask has ${a.mask.length} pixels, image ${image.id} is ${image.width} x ${image.height} = ${image.width * image.height}`);
      }
      const bbox = bboxOfMask(a.mask, image.width, image.height, a.label);
      if (!bbox) throw new RangeError(`${where}: the mask has no ${a.label === undefined ? 'non-zero' : `label ${a.label}`} pixel on image ${image.id}; leave empty masks out`);
      return { ...base, segmentation: maskToCocoRle(a.mask, image.width, image.height, a.label), area: maskArea(a.mask, image.width, image.height, a.label), bbox };
    }
    if ('box' in a) {
      const bbox = boxToCoco(a.box);
      if (a.box[0] < 0 || a.box[1] < 0 || a.box[2] > image.width || a.box[3] > image.height) {
        throw new RangeError(`${where}: box [${a.box.join(', ')}] leaves image ${image.id} (${image.width} x ${image.height})`);
      }
      return { ...base, segmentation: [], area: bbox[2] * bbox[3], bbox };
    }
    if (a.polygons.length === 0) throw new RangeError(`${where} has an empty polygon list`);
    a.polygons.forEach((p, i) => assertPolygon(p, `${where}, polygon ${i + 1}`));
    return {
      ...base,
      segmentation: a.polygons.map((p) => [...p]),
      area: a.polygons.reduce((sum, p) => sum + polygonArea(p), 0),
      bbox: polygonsBox(a.polygons),
    };
  });

  const info: CocoDataset['info'] = {};
  if (input.info) {
    const { dateCreated, ...rest } = input.info;
    Object.assign(info, Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)));
    if (dateCreated !== undefined) info.date_created = dateCreated;
  }
  return {
    info,
    licenses: (input.licenses ?? []).map((l) => ({ ...l })),
    images: input.images.map((i) => ({ id: i.id, file_name: i.fileName, width: i.width, height: i.height, ...(i.caseId !== undefined ? { case_id: i.caseId } : {}) })),
    annotations,
    categories: input.categories.map((c) => ({ id: c.id, name: c.name, supercategory: c.supercategory ?? '' })),
  };
}
