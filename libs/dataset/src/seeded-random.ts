// The seeded pseudo-random numbers behind reproducible splits. A split must come out identical for the same
// seed on every machine and Node version, so Math.random and anything locale- or engine-dependent is out.
//
// Generator: mulberry32 (32-bit state, one multiply-xorshift round per draw). Its statistical quality is far
// beyond what shuffling a few thousand patients needs, it is five lines, and it is the same everywhere.
// Seeds: a number is taken as its low 32 bits; strings (the seed combined with a stratum key, say) go through
// 32-bit FNV-1a first, then a splitmix-style finaliser so that similar strings give unrelated streams.

/** A stream of floats in [0, 1). */
export type RandomSource = () => number;

/** mulberry32 seeded with the low 32 bits of `seed`. */
export function mulberry32(seed: number): RandomSource {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 32-bit hash of a string (FNV-1a over UTF-16 code units, then a mixing finaliser). */
export function hashSeed(value: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) {
    h ^= value.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A generator for one named sub-stream of a seed (e.g. one stratum), independent of every other sub-stream. */
export function seededStream(seed: number | string, stream: string): RandomSource {
  return mulberry32(hashSeed(`${String(seed)}\0${stream}`));
}

/** Fisher–Yates shuffle into a new array. */
export function shuffled<T>(items: readonly T[], random: RandomSource): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
