// Outlines of a label on one slice, for RTSTRUCT: the boundaries of its pixels traced along pixel edges
// ("crack following"), so each polygon encloses exactly the label's pixels: its area is the pixel count times
// the pixel area, and a pixel centre lies inside the polygons (even-odd rule) exactly when the pixel carries the
// label. That makes the RTSTRUCT -> mask round trip lossless for any reader that rasterizes by pixel centre.
//
// Regions are 4-connected: two pixels touching only at a corner get separate polygons that share that corner
// point (at such a saddle the tracer turns towards the pixel it came along, so no polygon crosses itself).
// Holes come out as separate polygons inside their region, traversed the other way round (hole: true); the
// even-odd rule most planning systems apply to nested CLOSED_PLANAR contours then cuts them out.
// Straight runs are merged: vertices are emitted only where the boundary turns.

export interface PixelPolygon {
  /**
   * Vertices in pixel-corner coordinates: (x, y) = (i, j) is the top-left corner of pixel (i, j), so pixel
   * (i, j) covers [i, i + 1] x [j, j + 1]. Closed: the last vertex connects back to the first.
   */
  points: [number, number][];
  /** True for the boundary of a hole (background enclosed by the label). */
  hole: boolean;
  /** Enclosed area in pixels (positive; a hole's area is what it removes). */
  area: number;
}

// Directions in image coordinates (x right, y down): 0 east, 1 south, 2 west, 3 north. With y pointing down,
// turning "right" (clockwise on screen) is d + 1.
const DX = [1, 0, -1, 0];
const DY = [0, 1, 0, -1];

/**
 * Traces the outlines of the pixels equal to `label` in one slice (`width` x `height`, row by row, starting at
 * `offset` in `data`). Outer boundaries are clockwise on screen, holes anticlockwise.
 */
export function traceLabelOutlines(data: ArrayLike<number>, width: number, height: number, label: number, offset = 0): PixelPolygon[] {
  const at = (i: number, j: number) => i >= 0 && j >= 0 && i < width && j < height && data[offset + j * width + i] === label;
  const stride = width + 1;
  // Directed boundary edges with the label on their right (on screen), as a 4-bit set per start vertex.
  const out = new Map<number, number>();
  const addEdge = (x: number, y: number, d: number) => {
    const v = y * stride + x;
    out.set(v, (out.get(v) ?? 0) | (1 << d));
  };
  for (let j = 0; j < height; j++) {
    for (let i = 0; i < width; i++) {
      if (data[offset + j * width + i] !== label) continue;
      if (!at(i, j - 1)) addEdge(i, j, 0); // top edge, eastwards
      if (!at(i + 1, j)) addEdge(i + 1, j, 1); // right edge, southwards
      if (!at(i, j + 1)) addEdge(i + 1, j + 1, 2); // bottom edge, westwards
      if (!at(i - 1, j)) addEdge(i, j + 1, 3); // left edge, northwards
    }
  }

  // The successor of an edge arriving at a vertex heading d: prefer a right turn, then straight on, then a left
  // turn. Every vertex has as many outgoing as incoming edges, and this choice pairs them one to one, so
  // following successors from any edge returns to it.
  const next = (v: number, d: number): number => {
    const set = out.get(v) ?? 0;
    for (const c of [(d + 1) & 3, d, (d + 3) & 3]) if (set & (1 << c)) return c;
    throw new Error('Internal error: an outline ends in a vertex without an outgoing edge');
  };

  const used = new Set<number>();
  const polygons: PixelPolygon[] = [];
  for (const [startVertex, set] of out) {
    for (let startDir = 0; startDir < 4; startDir++) {
      if (!(set & (1 << startDir)) || used.has(startVertex * 4 + startDir)) continue;
      const points: [number, number][] = [];
      let v = startVertex;
      let d = startDir;
      for (;;) {
        used.add(v * 4 + d);
        const x = (v % stride) + DX[d];
        const y = Math.floor(v / stride) + DY[d];
        const nv = y * stride + x;
        const nd = next(nv, d);
        if (nd !== d) points.push([x, y]);
        v = nv;
        d = nd;
        if (v === startVertex && d === startDir) break;
      }
      let twiceArea = 0;
      for (let p = 0; p < points.length; p++) {
        const [x0, y0] = points[p];
        const [x1, y1] = points[(p + 1) % points.length];
        twiceArea += x0 * y1 - x1 * y0;
      }
      // In y-down coordinates a clockwise-on-screen outline has a positive shoelace sum.
      polygons.push({ points, hole: twiceArea < 0, area: Math.abs(twiceArea) / 2 });
    }
  }
  return polygons;
}

/** Signed shoelace area of a closed 2D polygon. */
export function shoelaceArea(points: readonly (readonly number[])[]): number {
  let twice = 0;
  for (let p = 0; p < points.length; p++) {
    const a = points[p];
    const b = points[(p + 1) % points.length];
    twice += a[0] * b[1] - b[0] * a[1];
  }
  return twice / 2;
}
