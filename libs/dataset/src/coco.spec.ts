import { bboxOfMask, boxToCoco, cocoDataset, cocoRleToMask, maskArea, maskToCocoRle, polygonArea, type CocoDatasetInput } from './coco';
import { mulberry32 } from './seeded-random';

describe('maskToCocoRle', () => {
  // 3 rows × 4 columns, row-major:
  //   0 1 1 0
  //   0 1 0 0
  //   1 1 0 0
  // Column by column (COCO's Fortran order): col0 0,0,1  col1 1,1,1  col2 1,0,0  col3 0,0,0
  //   → 0 0 | 1 1 1 1 1 | 0 0 0 0 0 → counts [2, 5, 5]; 5 pixels, in columns 0–2 and rows 0–2.
  // Row-major runs would have been [1, 2, 2, 1, 2, 2, 2]: the classic transposition bug.
  const mask = Uint8Array.from([0, 1, 1, 0, 0, 1, 0, 0, 1, 1, 0, 0]);

  it('encodes a hand-computed 3x4 mask column-major, starting with zeros', () => {
    expect(maskToCocoRle(mask, 4, 3)).toEqual({ size: [3, 4], counts: [2, 5, 5] });
    expect(maskArea(mask, 4, 3)).toBe(5);
    expect(bboxOfMask(mask, 4, 3)).toEqual([0, 0, 3, 3]);
  });

  it.each<[string, number[], number, number, number | undefined, number[]]>([
    ['starts with a zero-length background run when the first pixel is set', [1, 0, 0, 1], 2, 2, undefined, [0, 1, 2, 1]],
    ['an empty mask is one background run', [0, 0, 0, 0, 0, 0], 3, 2, undefined, [6]],
    ['a full mask', [1, 1, 1, 1], 2, 2, undefined, [0, 4]],
    // rows 2 1 2 / 2 0 1, label 2 → columns (1,1) (0,0) (1,0) → 1 1 0 0 1 0
    ['picks one label of a multi-label map', [2, 1, 2, 2, 0, 1], 3, 2, 2, [0, 2, 2, 1, 1]],
    ['a single column', [0, 1, 1], 1, 3, undefined, [1, 2]],
  ])('%s', (_, pixels, width, height, label, counts) => {
    expect(maskToCocoRle(pixels, width, height, label).counts).toEqual(counts);
  });

  it('decodes back to the mask (random masks)', () => {
    const random = mulberry32(77);
    for (let trial = 0; trial < 50; trial++) {
      const width = 1 + Math.floor(random() * 9), height = 1 + Math.floor(random() * 9);
      const m = Uint8Array.from({ length: width * height }, () => (random() < 0.4 ? 1 : 0));
      const rle = maskToCocoRle(m, width, height);
      expect(rle.counts.reduce((a, b) => a + b, 0)).toBe(width * height);
      expect(cocoRleToMask(rle)).toEqual(m);
    }
  });

  it('rejects a mask of the wrong size', () => {
    expect(() => maskToCocoRle(mask, 3, 3)).toThrow('Mask has 12 pixels but 3 x 3 = 9 were expected');
  });
});

describe('boxes and polygons', () => {
  it.each<[[number, number, number, number], [number, number, number, number]]>([
    [[10, 20, 30, 60], [10, 20, 20, 40]],
    [[0, 0, 0, 0], [0, 0, 0, 0]],
    [[1.5, 2.5, 4, 3], [1.5, 2.5, 2.5, 0.5]],
  ])('boxToCoco(%p) = %p', (box, coco) => {
    expect(boxToCoco(box)).toEqual(coco);
  });

  it('rejects a box given as x, y, width, height by mistake', () => {
    expect(() => boxToCoco([30, 40, 10, 10])).toThrow('x1 < x0 or y1 < y0');
  });

  it('measures a polygon and an empty mask', () => {
    expect(polygonArea([0, 0, 4, 0, 4, 3, 0, 3])).toBe(12);
    expect(polygonArea([0, 0, 0, 3, 4, 3, 4, 0])).toBe(12); // either winding
    expect(bboxOfMask([0, 0, 0, 0], 2, 2)).toBeNull();
    expect(bboxOfMask([0, 0, 0, 5], 2, 2, 5)).toEqual([1, 1, 1, 1]);
  });
});

describe('cocoDataset', () => {
  const input: CocoDatasetInput = {
    info: { description: 'Chest X-ray nodules', version: '3', dateCreated: '2025-01-31' },
    images: [
      { id: 1, fileName: 'CXR_0001.png', width: 4, height: 3, caseId: 'case-1' },
      { id: 2, fileName: 'CXR_0002.png', width: 100, height: 80 },
    ],
    categories: [{ id: 1, name: 'nodule', supercategory: 'lesion' }, { id: 2, name: 'pneumothorax' }],
    annotations: [
      { imageId: 1, categoryId: 1, mask: Uint8Array.from([0, 1, 1, 0, 0, 1, 0, 0, 1, 1, 0, 0]) },
      { imageId: 2, categoryId: 2, box: [10, 20, 30, 60] },
      { imageId: 2, categoryId: 1, polygons: [[0, 0, 4, 0, 4, 3, 0, 3]] },
    ],
  };

  it('builds images, categories and annotations with sequential ids and iscrowd 0', () => {
    expect(cocoDataset(input)).toEqual({
      info: { description: 'Chest X-ray nodules', version: '3', date_created: '2025-01-31' },
      licenses: [],
      images: [
        { id: 1, file_name: 'CXR_0001.png', width: 4, height: 3, case_id: 'case-1' },
        { id: 2, file_name: 'CXR_0002.png', width: 100, height: 80 },
      ],
      annotations: [
        { id: 1, image_id: 1, category_id: 1, segmentation: { size: [3, 4], counts: [2, 5, 5] }, area: 5, bbox: [0, 0, 3, 3], iscrowd: 0 },
        { id: 2, image_id: 2, category_id: 2, segmentation: [], area: 800, bbox: [10, 20, 20, 40], iscrowd: 0 },
        { id: 3, image_id: 2, category_id: 1, segmentation: [[0, 0, 4, 0, 4, 3, 0, 3]], area: 12, bbox: [0, 0, 4, 3], iscrowd: 0 },
      ],
      categories: [
        { id: 1, name: 'nodule', supercategory: 'lesion' },
        { id: 2, name: 'pneumothorax', supercategory: '' },
      ],
    });
  });

  it.each<[string, Partial<CocoDatasetInput>, string]>([
    ['an unknown image', { annotations: [{ imageId: 9, categoryId: 1, box: [0, 0, 1, 1] }] }, 'COCO annotation 1 refers to image 9'],
    ['an unknown category', { annotations: [{ imageId: 1, categoryId: 9, box: [0, 0, 1, 1] }] }, 'refers to category 9'],
    ['a mask of another size', { annotations: [{ imageId: 1, categoryId: 1, mask: new Uint8Array(10) }] }, 'mask has 10 pixels, image 1 is 4 x 3 = 12'],
    ['an empty mask', { annotations: [{ imageId: 1, categoryId: 1, mask: new Uint8Array(12) }] }, 'has no non-zero pixel on image 1'],
    ['a box outside the image', { annotations: [{ imageId: 1, categoryId: 1, box: [0, 0, 5, 3] }] }, 'leaves image 1 (4 x 3)'],
    ['a two-point polygon', { annotations: [{ imageId: 2, categoryId: 1, polygons: [[0, 0, 1, 1]] }] }, 'polygon 1: a polygon is at least three points'],
    ['two forms at once', { annotations: [{ imageId: 1, categoryId: 1, box: [0, 0, 1, 1], polygons: [] } as never] }, 'exactly one of mask, box or polygons, got box and polygons'],
    ['a repeated image id', { images: [{ id: 1, fileName: 'a.png', width: 1, height: 1 }, { id: 1, fileName: 'b.png', width: 1, height: 1 }], annotations: [] }, 'image id 1 is used twice'],
    ['a repeated category name', { categories: [{ id: 1, name: 'x' }, { id: 2, name: 'x' }], annotations: [] }, 'category name "x" is used twice'],
  ])('rejects %s', (_, override, message) => {
    expect(() => cocoDataset({ ...input, ...override })).toThrow(message);
  });
});
