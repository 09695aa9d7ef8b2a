import { read, seeded } from '../test/synthetic-reads';
import type { Grid } from './grid';
import { staple, StapleOptions } from './staple';

/** STAPLE as written in the paper, voxel by voxel, binary: the reference for the pattern-count implementation. */
function voxelwiseStaple(reads: Uint8Array[], label: number, prior: number, iterations: number) {
  const k = reads.length, n = reads[0].length;
  const p = new Array<number>(k).fill(0.99), q = new Array<number>(k).fill(0.99);
  const w = new Float64Array(n);
  const eStep = () => {
    for (let i = 0; i < n; i++) {
      let a = prior, b = 1 - prior;
      for (let r = 0; r < k; r++) {
        const d = reads[r][i] === label;
        a *= d ? p[r] : 1 - p[r];
        b *= d ? 1 - q[r] : q[r];
      }
      w[i] = a / (a + b);
    }
  };
  for (let it = 0; it < iterations; it++) {
    eStep();
    for (let r = 0; r < k; r++) {
      let tp = 0, pos = 0, tn = 0, neg = 0;
      for (let i = 0; i < n; i++) {
        const d = reads[r][i] === label;
        pos += w[i];
        neg += 1 - w[i];
        if (d) tp += w[i];
        else tn += 1 - w[i];
      }
      p[r] = tp / pos;
      q[r] = tn / neg;
    }
  }
  eStep();
  return { p, q, w };
}

/** A 12x12x4 grid with a 6x6x2 block of label 1 (72 of 576 voxels). */
const g: Grid = { dims: [12, 12, 4], spacing: [1, 1, 1] };
function truthBlock(): Uint8Array {
  const out = new Uint8Array(576);
  for (let z = 1; z < 3; z++) for (let y = 3; y < 9; y++) for (let x = 3; x < 9; x++) out[x + 12 * (y + 12 * z)] = 1;
  return out;
}
function flipped(truth: Uint8Array, rate: number, seed: number): Uint8Array {
  const next = seeded(seed);
  return truth.map((v) => (next() < rate ? 1 - v : v));
}

describe('staple', () => {
  it('recovers the truth and a perfect reader from one perfect and two noisy readers', () => {
    // The noisy readers err on the shell around the block (the voxels a tired reader gets wrong), each on about
    // a fifth of it, never both on the same voxel.
    const truth = truthBlock();
    const shell = (i: number) => {
      const x = i % 12, y = Math.floor(i / 12) % 12, z = Math.floor(i / 144);
      const inCore = x >= 4 && x <= 7 && y >= 4 && y <= 7 && z >= 1 && z <= 2;
      return x >= 2 && x <= 9 && y >= 2 && y <= 9 && !inCore;
    };
    const next = seeded(7);
    const noisy = [truth.slice(), truth.slice()];
    truth.forEach((v, i) => {
      if (!shell(i)) return;
      const u = next();
      if (u < 0.2) noisy[0][i] = 1 - v;
      else if (u < 0.4) noisy[1][i] = 1 - v;
    });
    const errors = noisy.map((r) => r.filter((v, i) => v !== truth[i]).length);
    expect(Math.min(...errors)).toBeGreaterThan(30);

    const result = staple([truth, ...noisy], g, [1]);
    expect(Array.from(result.mask)).toEqual(Array.from(truth));
    const [perfect, ...others] = result.labels[0].raters;
    expect(perfect.sensitivity).toBeCloseTo(1, 6);
    expect(perfect.specificity).toBeCloseTo(1, 6);
    // With the truth recovered, each noisy reader's estimates are its true rates against it: 72 true voxels, 504 not.
    others.forEach((o, r) => {
      const hits = noisy[r].filter((v, i) => v === 1 && truth[i] === 1).length;
      const rejections = noisy[r].filter((v, i) => v === 0 && truth[i] === 0).length;
      expect(o.sensitivity).toBeCloseTo(hits / 72, 6);
      expect(o.specificity).toBeCloseTo(rejections / 504, 6);
      expect(o.sensitivity * o.specificity).toBeLessThan(0.95);
    });
    expect(result.labels[0].converged).toBe(true);
    expect(result.iterations).toBe(result.labels[0].iterations);
    // Merged voxels are the ones the perfect reader drew, with near-certain posterior.
    result.confidence.forEach((c) => expect(c).toBeGreaterThan(0.999));
  });

  it.each<[string, number[], StapleOptions]>([
    ['default prior', [0.2, 0.1, 0.3], {}],
    ['fixed prior, anisotropic readers', [0.05, 0.4, 0.25], { prior: 0.3 }],
    ['per-label prior', [0.1, 0.1, 0.1], { prior: { 1: 0.5 } }],
  ])('matches voxel-by-voxel STAPLE over the whole grid (%s)', (_name, rates, options) => {
    // Reads are noisy copies of the block; voxels outside their box are never visited but must count.
    const truth = truthBlock();
    const reads = rates.map((rate, r) => {
      const noisy = flipped(truth, rate, 10 + r);
      // Keep the noise inside the central 8x8 so the foreground box is smaller than the grid.
      return noisy.map((v, i) => (i % 12 >= 2 && i % 12 < 10 && Math.floor(i / 12) % 12 >= 2 && Math.floor(i / 12) % 12 < 10 ? v : 0));
    });
    const iterations = 25;
    const result = staple(reads, g, [1], { ...options, tolerance: 0, maxIterations: iterations });
    const prior = result.labels[0].prior;
    const marked = reads.reduce((s, r) => s + r.filter((v) => v === 1).length, 0);
    expect(prior).toBeCloseTo(typeof options.prior === 'number' ? options.prior : (options.prior?.[1] ?? marked / (3 * 576)), 12);
    const want = voxelwiseStaple(reads, 1, prior, iterations);
    result.labels[0].raters.forEach((r, i) => {
      expect(r.sensitivity).toBeCloseTo(want.p[i], 9);
      expect(r.specificity).toBeCloseTo(want.q[i], 9);
    });
    expect(result.iterations).toBe(iterations);
    expect(result.labels[0].converged).toBe(false);
    for (let i = 0; i < 576; i++) {
      const merged = want.w[i] >= 0.5 && reads.some((r) => r[i] === 1) ? 1 : 0;
      expect(result.mask[i]).toBe(merged);
      expect(result.confidence[i]).toBeCloseTo(merged ? want.w[i] : 1 - want.w[i], 6);
    }
  });

  // 3 reads x 2 labels is decided from a table of the 27 answer combinations; 9 reads (3^9 combinations) voxel by
  // voxel. Both must agree with the paper's voxel-by-voxel EM run per label.
  it.each<[number]>([[3], [9]])('merges two labels from %i noisy reads like per-label voxel-by-voxel STAPLE', (k) => {
    const next = seeded(40 + k);
    const truth = truthBlock().map((v, i) => (v && i % 12 >= 6 ? 2 : v));
    const reads = Array.from({ length: k }, () => truth.map((v) => (next() < 0.15 ? Math.floor(next() * 3) : v)));
    const iterations = 30;
    const result = staple(reads, g, [1, 2], { tolerance: 0, maxIterations: iterations });
    const w = [1, 2].map((label, l) => {
      const want = voxelwiseStaple(reads, label, result.labels[l].prior, iterations);
      result.labels[l].raters.forEach((r, i) => {
        expect(r.sensitivity).toBeCloseTo(want.p[i], 9);
        expect(r.specificity).toBeCloseTo(want.q[i], 9);
      });
      return want.w;
    });
    for (let i = 0; i < 576; i++) {
      const candidates = [1, 2].filter((label, l) => reads.some((r) => r[i] === label) && w[l][i] >= 0.5);
      const merged = candidates.sort((a, b) => w[b - 1][i] - w[a - 1][i])[0] ?? 0;
      expect(result.mask[i]).toBe(merged);
      expect(result.confidence[i]).toBeCloseTo(merged ? w[merged - 1][i] : 1 - Math.max(w[0][i], w[1][i]), 6);
    }
  });

  it('returns identical reads unchanged, with sensitivity and specificity 1', () => {
    const r = read(['0000', '0120', '0220', '0000']);
    const result = staple([r, r, r], { dims: [4, 4, 1], spacing: [1, 1, 1] }, [1, 2]);
    expect(Array.from(result.mask)).toEqual(Array.from(r));
    for (const label of result.labels) {
      for (const rater of label.raters) {
        expect(rater.sensitivity).toBeCloseTo(1, 6);
        expect(rater.specificity).toBeCloseTo(1, 6);
      }
    }
    result.confidence.forEach((c) => expect(c).toBeCloseTo(1, 4));
  });

  it('reports a label no read has as found perfectly, without iterating', () => {
    const result = staple([read(['0110']), read(['0100'])], { dims: [4, 1, 1], spacing: [1, 1, 1] }, [1, 2]);
    expect(result.labels[1]).toEqual({
      label: 2,
      prior: 0,
      raters: [{ sensitivity: 1, specificity: 1 }, { sensitivity: 1, specificity: 1 }],
      iterations: 0,
      converged: true,
    });
  });

  it('gives the empty pattern the same confidence inside and outside the foreground box', () => {
    const reads = [read(['000000', '011000', '000000']), read(['000000', '001100', '000000']), read(['000000', '010000', '000000'])];
    const result = staple(reads, { dims: [6, 3, 1], spacing: [1, 1, 1] }, [1]);
    expect(result.box).toEqual([1, 1, 0, 4, 2, 1]);
    // Voxel 0 is outside the box, voxel 6 + 3 = 9 inside it with no reader marking it... both background.
    expect(result.confidence[0]).toBe(result.confidence[6]);
    expect(result.confidence[0]).toBeGreaterThan(0.9);
    expect(result.confidence[0]).toBeLessThanOrEqual(1);
  });

  it('picks the most probable label when two labels pass 0.5', () => {
    // Voxel 0: two readers say 1, one says 2 → label 1 (2 of 3); voxel 1 the other way round.
    const reads = [read(['12', '00']), read(['12', '00']), read(['21', '00'])];
    const result = staple(reads, { dims: [2, 2, 1], spacing: [1, 1, 1] }, [1, 2]);
    expect(Array.from(result.mask)).toEqual([1, 2, 0, 0]);
  });

  it.each<[string, StapleOptions, string]>([
    ['prior above 1', { prior: 1.5 }, 'STAPLE prior for label 1 must be in [0, 1], got 1.5'],
    ['per-label prior NaN', { prior: { 1: NaN } }, 'STAPLE prior for label 1 must be in [0, 1], got NaN'],
    ['a negative tolerance', { tolerance: -1 }, 'STAPLE tolerance must be >= 0, got -1'],
    ['zero iterations', { maxIterations: 0 }, 'STAPLE maxIterations must be a positive integer, got 0'],
    ['a starting sensitivity of 0', { initialSensitivity: 0 }, 'STAPLE initialSensitivity must be in (0, 1], got 0'],
  ])('rejects %s', (_name, options, message) => {
    expect(() => staple([read(['1']), read(['0'])], { dims: [1, 1, 1], spacing: [1, 1, 1] }, [1], options)).toThrow(message);
  });

  it('names the limit on readers', () => {
    const reads = Array.from({ length: 31 }, () => read(['1']));
    expect(() => staple(reads, { dims: [1, 1, 1], spacing: [1, 1, 1] }, [1])).toThrow('STAPLE supports at most 30 reads, got 31');
  });

  it('handles more readers than the dense pattern table holds', () => {
    // 20 readers: 15 mark voxel 0, all 20 mark voxel 1, none mark voxel 2.
    const reads = Array.from({ length: 20 }, (_, r) => Uint8Array.of(r < 15 ? 1 : 0, 1, 0));
    const result = staple(reads, { dims: [3, 1, 1], spacing: [1, 1, 1] }, [1]);
    expect(Array.from(result.mask)).toEqual([1, 1, 0]);
  });
});
