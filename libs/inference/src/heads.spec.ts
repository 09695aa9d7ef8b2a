// Classification answers and detection boxes from raw model outputs, against hand-computed cases.
import { classifyScores, decodeDetections, detectionUncertainty, iou, parseModelManifest, softmax } from './index';
import { CLASSIFIER_TEST_MANIFEST } from './testing/rule-manifests';

const classifier = CLASSIFIER_TEST_MANIFEST;
const manifest = (over: (m: any) => void = () => undefined) => {
  const m = JSON.parse(JSON.stringify(classifier));
  over(m);
  return parseModelManifest(m);
};

describe('classifyScores', () => {
  const ln = Math.log;
  it.each<[string, (m: any) => void, number[][], string[], Record<string, number>, number]>([
    // softmax([ln 3, 0]) = [0.75, 0.25]; entropy (0.75 ln 0.75 + 0.25 ln 0.25) / ln 2 = 0.8113.
    ['softmax argmax', () => undefined, [[ln(3), 0]], ['dark'], { dark: 0.75, bright: 0.25 }, 0.8113],
    // The mean over two images [0.75, 0.25] and [0.25, 0.75] is uniform: a tie goes to the lower channel.
    ['averaged over images', () => undefined, [[ln(3), 0], [0, ln(3)]], ['dark'], { dark: 0.5, bright: 0.5 }, 1],
    ['probabilities as given', (m) => ((m.output.kind = 'probabilities'), (m.postprocessing.activation = 'none')), [[0.1, 0.9]], ['bright'], { dark: 0.1, bright: 0.9 }, 0.469],
    // An unlisted channel (2: "other") wins argmax: no choice is made.
    ['unlisted channel wins', () => undefined, [[0, 0, ln(8)]], [], { dark: 0.1, bright: 0.1 }, 0.5818],
    // Sigmoid with a threshold: several choices (a multiple-choice question); sigmoid(ln 4) = 0.8, sigmoid(0) = 0.5.
    ['sigmoid threshold', (m) => ((m.postprocessing.activation = 'sigmoid'), (m.postprocessing.decision = { threshold: 0.5 })), [[ln(4), 0]], ['dark', 'bright'], { dark: 0.8, bright: 0.5 }, 0.8610],
    ['sigmoid threshold, none pass', (m) => ((m.postprocessing.activation = 'sigmoid'), (m.postprocessing.decision = { threshold: 0.9 })), [[ln(4), 0]], [], { dark: 0.8, bright: 0.5 }, 0.8610],
  ])('%s', (_name, over, outputs, choices, probabilities, uncertainty) => {
    const m = manifest(over);
    const result = classifyScores(outputs, outputs[0].length, m);
    expect(result.question).toBe('Brightness');
    expect(result.choices).toEqual(choices);
    for (const [k, v] of Object.entries(probabilities)) expect(result.probabilities[k]).toBeCloseTo(v, 6);
    expect(result.uncertainty).toBeCloseTo(uncertainty, 3);
    expect(result.images).toBe(outputs.length);
  });

  it('refuses score vectors of the wrong length and models without a question', () => {
    expect(() => classifyScores([[1, 2, 3]], 2, manifest())).toThrow('a score vector has 3 values, expected 2');
    expect(() => classifyScores([], 2, manifest())).toThrow('at least one image');
  });

  it('softmax is stable for large scores', () => {
    expect(softmax([1000, 1000])).toEqual([0.5, 0.5]);
  });
});

describe('decodeDetections', () => {
  const detector = manifest((m) => {
    m.task = 'detection';
    delete m.question;
    m.output = { name: 'boxes', kind: 'boxes' };
    m.postprocessing = { activation: 'none', decision: { threshold: 0.3 }, nmsIou: 0.5, maxDetections: 3 };
    m.labels = [
      { channel: 0, name: 'Mass' },
      { channel: 2, name: 'Calcification' },
    ];
  });
  const row = (x0: number, y0: number, x1: number, y1: number, score: number, cls: number) => [x0, y0, x1, y1, score, cls];

  it.each<[string, number[][], { box: number[]; score: number; label: number }[]]>([
    ['one box', [row(10, 20, 30, 40, 0.9, 0)], [{ box: [10, 20, 30, 40], score: 0.9, label: 1 }]],
    ['below the threshold', [row(10, 20, 30, 40, 0.2, 0)], []],
    ['class 2 is the second label, class 1 is nobody', [row(1, 1, 5, 5, 0.8, 2), row(1, 1, 5, 5, 0.9, 1)], [{ box: [1, 1, 5, 5], score: 0.8, label: 2 }]],
    ['corners in either order, clipped to the 100x50 image', [row(120, 60, 90, -5, 0.7, 0)], [{ box: [90, 0, 100, 50], score: 0.7, label: 1 }]],
    ['empty box dropped', [row(5, 5, 5, 9, 0.9, 0)], []],
    // IoU of [0,0,10,10] and [1,0,11,10] is 90/110 = 0.82 > 0.5: the lower one goes; another label is kept.
    ['suppression per label', [row(1, 0, 11, 10, 0.6, 0), row(0, 0, 10, 10, 0.9, 0), row(0, 0, 10, 10, 0.5, 2)], [{ box: [0, 0, 10, 10], score: 0.9, label: 1 }, { box: [0, 0, 10, 10], score: 0.5, label: 2 }]],
    ['at most maxDetections, best first', [row(0, 0, 1, 1, 0.4, 0), row(2, 2, 3, 3, 0.5, 0), row(4, 4, 5, 5, 0.6, 0), row(6, 6, 7, 7, 0.7, 0)], [
      { box: [6, 6, 7, 7], score: 0.7, label: 1 },
      { box: [4, 4, 5, 5], score: 0.6, label: 1 },
      { box: [2, 2, 3, 3], score: 0.5, label: 1 },
    ]],
    ['NaN score dropped', [row(0, 0, 1, 1, Number.NaN, 0)], []],
  ])('%s', (_name, rows, expected) => {
    const found = decodeDetections(rows.flat(), 3, 100, 50, detector);
    expect(found.map(({ box, score, label }) => ({ box, score: Math.round(score * 100) / 100, label }))).toEqual(expected);
    expect(found.every((d) => d.image === 3)).toBe(true);
  });

  it('refuses rows that are not six values', () => {
    expect(() => decodeDetections([1, 2, 3, 4, 5], 0, 10, 10, detector)).toThrow('not a whole number of 6-value rows');
  });

  it.each<[number[], number[], number]>([
    [[0, 0, 10, 10], [0, 0, 10, 10], 1],
    [[0, 0, 10, 10], [5, 0, 15, 10], 1 / 3],
    [[0, 0, 10, 10], [10, 0, 20, 10], 0],
    [[0, 0, 0, 10], [0, 0, 0, 10], 0],
  ])('iou(%j, %j) = %d', (a, b, expected) => {
    expect(iou(a, b)).toBeCloseTo(expected, 10);
  });

  it('uncertainty is the mean binary entropy of the scores', () => {
    expect(detectionUncertainty([])).toBeNull();
    expect(detectionUncertainty([{ box: [0, 0, 1, 1], score: 1, label: 1, image: 0 }])).toBe(0);
    expect(detectionUncertainty([{ box: [0, 0, 1, 1], score: 0.5, label: 1, image: 0 }, { box: [0, 0, 1, 1], score: 1, label: 1, image: 0 }])).toBeCloseTo(0.5, 10);
  });
});
