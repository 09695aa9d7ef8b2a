// Geometric annotations that are not masks: bounding boxes, points and polygons, drawn on one slice of one
// image. They travel in a read's answers under the reserved key `shapes` (classification answers use the
// question text as key, so a question may not be called "shapes"), and are checked here against the
// protocol (its labels and annotation types) and the task's images before they are stored.
//
// Coordinates are continuous pixel coordinates in the file's voxel order, the order of Contour's masks:
// pixel (i, j) of a slice covers [i, i+1) x [j, j+1), so a pixel's centre is (i + 0.5, j + 0.5). This is
// COCO's convention; a box [x0, y0, x1, y1] covering that one pixel is [i, j, i + 1, j + 1].
import { z } from 'zod';

export const SHAPES_KEY = 'shapes';
/** The most shapes one read may hold. */
export const MAX_SHAPES = 10_000;

const coord = z.number().finite();
const xy = z.tuple([coord, coord]);
const base = {
  /** Protocol label id. */
  label: z.number().int().min(1).max(255),
  /** The series the shape is on; may be left out when the task has one series. */
  image: z.string().min(1).optional(),
  /** Slice (frame) index inside the task's grid: 0 for a 2D image. */
  slice: z.number().int().min(0).default(0),
};

export const BoxShape = z.object({ kind: z.literal('box'), ...base, box: z.tuple([coord, coord, coord, coord]) }).strict();
export const PointShape = z.object({ kind: z.literal('point'), ...base, point: xy }).strict();
export const PolygonShape = z.object({ kind: z.literal('polygon'), ...base, points: z.array(xy).min(3, 'a polygon needs at least 3 points').max(10_000) }).strict();
export const Shape = z.discriminatedUnion('kind', [BoxShape, PointShape, PolygonShape]);
export type Shape = z.infer<typeof Shape>;
export type BoxShape = z.infer<typeof BoxShape>;
export type PointShape = z.infer<typeof PointShape>;
export type PolygonShape = z.infer<typeof PolygonShape>;
export type ShapeKind = Shape['kind'];

/** Which protocol annotation type allows each shape kind. */
export const SHAPE_ANNOTATION_TYPE: Record<ShapeKind, string> = { box: 'bounding-box', point: 'point', polygon: 'polygon' };

export interface ShapeImage {
  id: string;
  /** [columns, rows, slices] of the task's grid on this image. */
  dims: readonly [number, number, number];
}

export interface ShapeContext {
  labels: readonly number[];
  /** The protocol's annotation type kinds ('bounding-box', 'point', 'polygon', ...). */
  annotationTypes: readonly string[];
  /** The task's images; the first is the default for shapes without `image`. */
  images: readonly ShapeImage[];
}

export class ShapeError extends Error {}

const fmt = (n: number) => String(Math.round(n * 1000) / 1000);

/**
 * Parses and checks the shapes of a submission. Returns them with `image` always set; throws ShapeError
 * listing every problem (at most 10), each with the shape's index, so the annotator can find it.
 */
export function checkShapes(raw: unknown, ctx: ShapeContext): Shape[] {
  if (raw === undefined || raw === null) return [];
  const parsed = z.array(Shape).max(MAX_SHAPES, `at most ${MAX_SHAPES.toLocaleString('en')} shapes per read`).safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 10).map((i) => `${[SHAPES_KEY, ...i.path].map((p, k) => (typeof p === 'number' ? `[${p}]` : k ? `.${String(p)}` : String(p))).join('')}: ${i.message}`);
    throw new ShapeError(`The shapes are not valid: ${problems.join('; ')}`);
  }
  const problems: string[] = [];
  const out: Shape[] = [];
  const labels = new Set(ctx.labels);
  const byId = new Map(ctx.images.map((im) => [im.id, im]));
  parsed.data.forEach((s, i) => {
    const where = `${SHAPES_KEY}[${i}] (${s.kind})`;
    const type = SHAPE_ANNOTATION_TYPE[s.kind];
    if (!ctx.annotationTypes.includes(type)) problems.push(`${where}: the protocol has no "${type}" annotation type (it has ${ctx.annotationTypes.join(', ') || 'none'})`);
    if (!labels.has(s.label)) problems.push(`${where}: label ${s.label} is not in the protocol (labels ${[...labels].join(', ') || 'none'})`);
    const image = s.image === undefined ? (ctx.images.length === 1 ? ctx.images[0] : undefined) : byId.get(s.image);
    if (!image) {
      problems.push(s.image === undefined ? `${where}: this task has ${ctx.images.length} images; say which one with "image"` : `${where}: image ${s.image} is not one of this task's images`);
      return;
    }
    const [nx, ny, nz] = image.dims;
    if (s.slice >= nz) problems.push(`${where}: slice ${s.slice} is outside the image's slices 0..${nz - 1}`);
    const inside = ([x, y]: readonly number[]) => x >= 0 && x <= nx && y >= 0 && y <= ny;
    if (s.kind === 'box') {
      const [x0, y0, x1, y1] = s.box;
      if (!(x1 > x0 && y1 > y0)) problems.push(`${where}: box [${s.box.map(fmt).join(', ')}] is empty or reversed (needs x0 < x1 and y0 < y1)`);
      else if (!inside([x0, y0]) || !inside([x1, y1])) problems.push(`${where}: box [${s.box.map(fmt).join(', ')}] goes outside the ${nx}x${ny} image`);
    } else if (s.kind === 'point') {
      if (!inside(s.point)) problems.push(`${where}: point [${s.point.map(fmt).join(', ')}] is outside the ${nx}x${ny} image`);
    } else {
      const outside = s.points.findIndex((p) => !inside(p));
      if (outside >= 0) problems.push(`${where}: vertex ${outside} [${s.points[outside].map(fmt).join(', ')}] is outside the ${nx}x${ny} image`);
      else if (polygonArea(s.points) === 0) problems.push(`${where}: the polygon encloses no area`);
    }
    out.push({ ...s, image: image.id });
  });
  if (problems.length) throw new ShapeError(`${problems.length} shape${problems.length > 1 ? 's are' : ' is'} not valid: ${problems.slice(0, 10).join('; ')}${problems.length > 10 ? '; …' : ''}`);
  return out;
}

/** Absolute area of a closed polygon (shoelace formula). */
export function polygonArea(points: ReadonlyArray<readonly number[]>): number {
  let twice = 0;
  for (let i = 0; i < points.length; i++) {
    const [x0, y0] = points[i];
    const [x1, y1] = points[(i + 1) % points.length];
    twice += x0 * y1 - x1 * y0;
  }
  return Math.abs(twice) / 2;
}

/** The shapes of a stored answers object (already checked when they were stored). */
export function shapesOf(answers: Record<string, unknown> | null | undefined): Shape[] {
  const s = answers?.[SHAPES_KEY];
  return Array.isArray(s) ? (s as Shape[]) : [];
}

/** The answers without the shapes: the classification questions only. */
export function questionAnswers(answers: Record<string, unknown> | null | undefined): Record<string, unknown> {
  const { [SHAPES_KEY]: _shapes, ...rest } = answers ?? {};
  return rest;
}
