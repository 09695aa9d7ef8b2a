// Agreement and merge for boxes, points and polygons drawn by k readers (detection-style reads: "mark every
// nodule"). Two shapes can only correspond when they have the same kind, label, image and slice. They then
// match when they overlap enough: boxes and polygons by intersection over union (default >= 0.5, the usual
// detection criterion), points by distance (default within 5 pixels).
//
// Agreement between two readers is a soft F1: the summed similarity of their one-to-one matches (greedy, best
// first) divided by the mean number of shapes they drew. Both drew nothing: 1 (they agree there is nothing);
// one drew nothing: 0. The task's agreement is the mean over reader pairs; per label the same restricted to
// that label. A missed finding costs as much as a spurious one.
//
// The merge clusters corresponding shapes across readers (at most one per reader in a cluster, best matches
// first) and keeps the clusters a strict majority of readers drew: boxes and points are averaged, a polygon
// cluster keeps the member closest to the others (averaging outlines with different vertex counts is not
// meaningful).
import { boxIoU } from './box-iou';

export interface ShapeLike {
  kind: 'box' | 'point' | 'polygon';
  label: number;
  image?: string;
  slice: number;
  box?: readonly [number, number, number, number];
  point?: readonly [number, number];
  points?: ReadonlyArray<readonly [number, number]>;
}

export interface ShapeAgreementOptions {
  /** Boxes and polygons correspond at IoU >= this (default 0.5). */
  minIoU?: number;
  /** Points correspond within this distance, in pixels (default 5). */
  pointRadius?: number;
}

export interface ShapeLabelAgreement {
  label: number;
  agreement: number;
  /** Shapes of this label per reader. */
  counts: number[];
}

export interface MergedShapeInfo {
  /** Readers who drew a shape of this cluster. */
  readers: number;
  /** Mean similarity between the cluster's members (1 for a single member). */
  similarity: number;
}

export interface ShapeAgreementReport<S extends ShapeLike> {
  agreement: number;
  labels: ShapeLabelAgreement[];
  /** Agreement of every reader pair, [i, j, value]. */
  pairs: [number, number, number][];
  merged: S[];
  mergedInfo: MergedShapeInfo[];
  /** Shapes drawn by some readers but not a majority: where the readers disagree. */
  disputed: (MergedShapeInfo & { shape: S })[];
}

const sameSpot = (a: ShapeLike, b: ShapeLike) => a.kind === b.kind && a.label === b.label && (a.image ?? '') === (b.image ?? '') && a.slice === b.slice;

/** Similarity in [0, 1] of two shapes, and whether they correspond at all. */
export function shapeSimilarity(a: ShapeLike, b: ShapeLike, opts: ShapeAgreementOptions = {}): { similarity: number; match: boolean } {
  if (!sameSpot(a, b)) return { similarity: 0, match: false };
  const minIoU = opts.minIoU ?? 0.5;
  if (a.kind === 'point') {
    const radius = opts.pointRadius ?? 5;
    const d = Math.hypot(a.point![0] - b.point![0], a.point![1] - b.point![1]);
    // 1 on the same spot, 0.5 at the radius: matched points always count at least half.
    return { similarity: d <= radius ? 1 - d / (2 * radius) : 0, match: d <= radius };
  }
  const iou = a.kind === 'box' ? boxIoU(a.box!, b.box!) : polygonIoU(a.points!, b.points!);
  return { similarity: iou, match: iou >= minIoU && iou > 0 };
}

/** IoU of two simple polygons, by point sampling on a 256 x 256 grid over their joint bounding box. */
export function polygonIoU(a: ReadonlyArray<readonly number[]>, b: ReadonlyArray<readonly number[]>): number {
  // Polygons whose bounding boxes do not overlap share nothing: no sampling (most pairs of a busy read).
  const bounds = (poly: ReadonlyArray<readonly number[]>) => [Math.min(...poly.map((p) => p[0])), Math.min(...poly.map((p) => p[1])), Math.max(...poly.map((p) => p[0])), Math.max(...poly.map((p) => p[1]))];
  const [ax0, ay0, ax1, ay1] = bounds(a);
  const [bx0, by0, bx1, by1] = bounds(b);
  if (ax1 <= bx0 || bx1 <= ax0 || ay1 <= by0 || by1 <= ay0) return 0;
  const xs = [...a, ...b].map((p) => p[0]);
  const ys = [...a, ...b].map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const nx = 256;
  const ny = 256;
  let inter = 0;
  let union = 0;
  for (let j = 0; j < ny; j++) {
    const y = y0 + ((j + 0.5) * (y1 - y0)) / ny;
    for (let i = 0; i < nx; i++) {
      const x = x0 + ((i + 0.5) * (x1 - x0)) / nx;
      const inA = insidePolygon(a, x, y);
      const inB = insidePolygon(b, x, y);
      if (inA || inB) union++;
      if (inA && inB) inter++;
    }
  }
  return union ? inter / union : 0;
}

/** Even-odd rule. */
function insidePolygon(poly: ReadonlyArray<readonly number[]>, x: number, y: number): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i];
    const [xj, yj] = poly[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Greedy one-to-one matching of two readers' shapes, best similarity first: summed similarity of the matches. */
function matchScore(a: readonly ShapeLike[], b: readonly ShapeLike[], opts: ShapeAgreementOptions): number {
  const candidates: [number, number, number][] = [];
  a.forEach((sa, i) =>
    b.forEach((sb, j) => {
      const { similarity, match } = shapeSimilarity(sa, sb, opts);
      if (match) candidates.push([similarity, i, j]);
    }),
  );
  candidates.sort((x, y) => y[0] - x[0] || x[1] - y[1] || x[2] - y[2]);
  const usedA = new Set<number>();
  const usedB = new Set<number>();
  let sum = 0;
  for (const [s, i, j] of candidates) {
    if (usedA.has(i) || usedB.has(j)) continue;
    usedA.add(i);
    usedB.add(j);
    sum += s;
  }
  return sum;
}

function pairAgreement(a: readonly ShapeLike[], b: readonly ShapeLike[], opts: ShapeAgreementOptions): number {
  if (!a.length && !b.length) return 1;
  return matchScore(a, b, opts) / ((a.length + b.length) / 2);
}

const meanOf = (v: number[]) => (v.length ? v.reduce((s, x) => s + x, 0) / v.length : 1);

/** Agreement of k readers' shapes (reads[r] = reader r's shapes) and their majority merge. */
export function shapeAgreement<S extends ShapeLike>(reads: ReadonlyArray<readonly S[]>, opts: ShapeAgreementOptions = {}): ShapeAgreementReport<S> {
  const k = reads.length;
  const pairs: [number, number, number][] = [];
  for (let i = 0; i < k; i++) for (let j = i + 1; j < k; j++) pairs.push([i, j, pairAgreement(reads[i], reads[j], opts)]);
  const labelIds = [...new Set(reads.flatMap((r) => r.map((s) => s.label)))].sort((x, y) => x - y);
  const labels = labelIds.map((label) => {
    const per = reads.map((r) => r.filter((s) => s.label === label));
    const values: number[] = [];
    for (let i = 0; i < k; i++) for (let j = i + 1; j < k; j++) values.push(pairAgreement(per[i], per[j], opts));
    return { label, agreement: meanOf(values), counts: per.map((p) => p.length) };
  });
  const { merged, mergedInfo, disputed } = mergeShapes(reads, opts);
  return { agreement: meanOf(pairs.map((p) => p[2])), labels, pairs, merged, mergedInfo, disputed };
}

function mergeShapes<S extends ShapeLike>(reads: ReadonlyArray<readonly S[]>, opts: ShapeAgreementOptions) {
  const all = reads.flatMap((r, reader) => r.map((shape) => ({ shape, reader })));
  const edges: [number, number, number][] = [];
  for (let i = 0; i < all.length; i++) {
    for (let j = i + 1; j < all.length; j++) {
      if (all[i].reader === all[j].reader) continue;
      const { similarity, match } = shapeSimilarity(all[i].shape, all[j].shape, opts);
      if (match) edges.push([similarity, i, j]);
    }
  }
  edges.sort((x, y) => y[0] - x[0] || x[1] - y[1] || x[2] - y[2]);
  // Union-find over shapes; a union is refused when the two clusters share a reader.
  const parent = all.map((_, i) => i);
  const readersOf = all.map((a) => new Set([a.reader]));
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])));
  for (const [, i, j] of edges) {
    const ri = find(i);
    const rj = find(j);
    if (ri === rj || [...readersOf[ri]].some((r) => readersOf[rj].has(r))) continue;
    parent[rj] = ri;
    for (const r of readersOf[rj]) readersOf[ri].add(r);
  }
  const clusters = new Map<number, number[]>();
  all.forEach((_, i) => clusters.set(find(i), [...(clusters.get(find(i)) ?? []), i]));
  const merged: S[] = [];
  const mergedInfo: MergedShapeInfo[] = [];
  const disputed: (MergedShapeInfo & { shape: S })[] = [];
  for (const members of clusters.values()) {
    const shapes = members.map((i) => all[i].shape);
    const sims = shapes.map((a, i) => shapes.map((b, j) => (i === j ? 1 : shapeSimilarity(a, b, opts).similarity)));
    let similarity = 1;
    if (shapes.length > 1) {
      let sum = 0;
      for (let i = 0; i < shapes.length; i++) for (let j = i + 1; j < shapes.length; j++) sum += sims[i][j];
      similarity = sum / ((shapes.length * (shapes.length - 1)) / 2);
    }
    const info = { readers: shapes.length, similarity };
    const shape = representative(shapes, sims);
    if (shapes.length * 2 > reads.length) {
      merged.push(shape);
      mergedInfo.push(info);
    } else disputed.push({ ...info, shape });
  }
  return { merged, mergedInfo, disputed };
}

/** The cluster's merged shape: the mean box or point; for polygons, the member most similar to the rest. */
function representative<S extends ShapeLike>(shapes: S[], sims: number[][]): S {
  const first = shapes[0];
  const avg = (values: number[]) => Math.round((values.reduce((s, v) => s + v, 0) / values.length) * 100) / 100;
  if (first.kind === 'box') return { ...first, box: [0, 1, 2, 3].map((c) => avg(shapes.map((s) => s.box![c]))) as [number, number, number, number] };
  if (first.kind === 'point') return { ...first, point: [0, 1].map((c) => avg(shapes.map((s) => s.point![c]))) as [number, number] };
  let best = 0;
  let bestSum = -1;
  sims.forEach((row, i) => {
    const sum = row.reduce((s, v) => s + v, 0);
    if (sum > bestSum) [best, bestSum] = [i, sum];
  });
  return shapes[best];
}
