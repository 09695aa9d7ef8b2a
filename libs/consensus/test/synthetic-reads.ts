// Hand-drawn and seeded-random label maps for the consensus specs (outside src/, so not part of the build).

/**
 * A label map drawn as text: one array of row strings per z slice, one digit per voxel (x along the string,
 * y down the rows), e.g. read(['0110', '0110']) is a 4x2x1 map with a 2x2 square of label 1.
 */
export function read(...slices: string[][]): Uint8Array {
  return Uint8Array.from(slices.flat().join('').split(''), Number);
}

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32), so a failing case reproduces. */
export function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
