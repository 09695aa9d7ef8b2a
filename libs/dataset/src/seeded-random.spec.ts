import { hashSeed, mulberry32, seededStream, shuffled } from './seeded-random';
import { splitByPatient } from './patient-split';
import { datasetCase } from '../test/synthetic-cases';

// Pinned outputs: a published split must come out the same in every later version of Contour, so a change to
// the generator, the seed hashing or the dealing order has to fail here, loudly, rather than reshuffle datasets.
describe('seeded random numbers', () => {
  it.each<[number, number[]]>([
    [0, [0.26642920868471265, 0.0003297457005828619, 0.2232720274478197]],
    [42, [0.6011037519201636, 0.44829055899754167]],
  ])('mulberry32(%p) gives the reference stream', (seed, expected) => {
    const random = mulberry32(seed);
    expect(expected.map(() => random())).toEqual(expected);
  });

  it.each<[string, number]>([
    ['', 2872998923],
    ['stratum', 972637369],
  ])('hashSeed(%p) = %p', (text, hash) => {
    expect(hashSeed(text)).toBe(hash);
  });

  it('gives independent streams per name and a permutation when shuffling', () => {
    expect(seededStream(1, 'a')()).not.toBe(seededStream(1, 'b')());
    expect(seededStream(1, 'a')()).toBe(seededStream('1', 'a')());
    const items = Array.from({ length: 50 }, (_, i) => i);
    const out = shuffled(items, mulberry32(9));
    expect(out).not.toEqual(items);
    expect([...out].sort((a, b) => a - b)).toEqual(items);
  });

  it('reproduces a pinned stratified split', () => {
    const cases = Array.from({ length: 10 }, (_, i) => datasetCase(`c${i}`, `p${i}`, { sex: i % 2 ? 'F' : 'M' }));
    const { assignment } = splitByPatient(cases, { fractions: { train: 0.6, validation: 0.2, test: 0.2 }, seed: 2025, stratifyBy: ['sex'] });
    expect(assignment).toEqual({
      p0: 'test', p1: 'validation', p2: 'train', p3: 'train', p4: 'validation',
      p5: 'test', p6: 'train', p7: 'train', p8: 'train', p9: 'train',
    });
  });
});
