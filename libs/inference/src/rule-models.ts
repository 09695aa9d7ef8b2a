// Small classification and detection models written as ONNX graphs in code, with outputs that can be computed by
// hand: the references for the runner's classification and detection paths (and for anyone wiring a model of
// their own: they show the tensor layouts Contour expects). Rule-based, not trained.
import { encodeModel, floatTensor, int64Tensor, node, tensorValueInfo } from './onnx-graph';

export interface MeanIntensityClassifierOptions {
  /** 2: input [N, 1, H, W]; 3: input [N, 1, D, H, W]. Spatial and batch dims are dynamic. */
  spatialDims?: 2 | 3;
  /** Score of class c = mean(input) * weights[c] + bias[c]. */
  weights: number[];
  bias: number[];
  inputName?: string;
  outputName?: string;
}

/** Scores [N, C] from the image's mean intensity (after the manifest's normalisation): logit_c = mean · w_c + b_c. */
export function buildMeanIntensityClassifier(options: MeanIntensityClassifierOptions): Uint8Array {
  const { weights, bias, inputName = 'image', outputName = 'scores' } = options;
  if (weights.length !== bias.length || weights.length < 1) throw new RangeError('weights and bias need one value per class');
  const spatial = (options.spatialDims ?? 2) === 3 ? ['D', 'H', 'W'] : ['H', 'W'];
  const classes = weights.length;
  return encodeModel({
    name: 'mean-intensity-classifier',
    doc: `Scores ${classes} classes as mean(input) * w + b: a rule-based test classifier with known outputs.`,
    inputs: [tensorValueInfo(inputName, ['N', 1, ...spatial])],
    outputs: [tensorValueInfo(outputName, ['N', classes])],
    initializers: [floatTensor('w', [1, classes], weights), floatTensor('b', [classes], bias)],
    nodes: [node('GlobalAveragePool', [inputName], ['mean']), node('Flatten', ['mean'], ['flat'], { axis: 1 }), node('Gemm', ['flat', 'w', 'b'], [outputName])],
  });
}

export interface BrightRegionDetectorOptions {
  /** Pixels above this (normalised) value form the region. */
  threshold: number;
  inputName?: string;
  outputName?: string;
}

/**
 * One box per image, [N, 1, 6] = x0, y0, x1, y1, score, class 0: the bounding box of every pixel above the
 * threshold (continuous pixel coordinates: a single pixel (i, j) gives [i, j, i + 1, j + 1]), score 1 when
 * there is such a pixel and 0 when there is none.
 */
export function buildBrightRegionDetector(options: BrightRegionDetectorOptions): Uint8Array {
  const { threshold, inputName = 'image', outputName = 'boxes' } = options;
  const nodes = [
    node('Greater', [inputName, 'threshold'], ['above']),
    node('Cast', ['above'], ['mask'], { to: 1 }),
    // Any pixel per row ([N, 1, H]) and per column ([N, 1, W]).
    node('ReduceMax', ['mask'], ['rows'], { axes: [3], keepdims: 0 }),
    node('ReduceMax', ['mask'], ['cols'], { axes: [2], keepdims: 0 }),
    // First and last marked row/column: ArgMax returns the first (or, with select_last_index, the last) maximum.
    node('ArgMax', ['cols'], ['x0i'], { axis: 2, keepdims: 0, select_last_index: 0 }),
    node('ArgMax', ['rows'], ['y0i'], { axis: 2, keepdims: 0, select_last_index: 0 }),
    node('ArgMax', ['cols'], ['x1i'], { axis: 2, keepdims: 0, select_last_index: 1 }),
    node('ArgMax', ['rows'], ['y1i'], { axis: 2, keepdims: 0, select_last_index: 1 }),
    ...['x0', 'y0', 'x1', 'y1'].map((v) => node('Cast', [`${v}i`], [`${v}f`], { to: 1 })),
    node('Add', ['x1f', 'one'], ['x1e']),
    node('Add', ['y1f', 'one'], ['y1e']),
    node('ReduceMax', ['mask'], ['score'], { axes: [2, 3], keepdims: 0 }),
    node('Mul', ['score', 'zero'], ['cls']),
    node('Concat', ['x0f', 'y0f', 'x1e', 'y1e', 'score', 'cls'], ['row'], { axis: 1 }),
    node('Unsqueeze', ['row', 'axis1'], [outputName]),
  ];
  return encodeModel({
    name: 'bright-region-detector',
    doc: `The bounding box of the pixels above ${threshold}: a rule-based test detector with known outputs.`,
    inputs: [tensorValueInfo(inputName, ['N', 1, 'H', 'W'])],
    outputs: [tensorValueInfo(outputName, ['N', 1, 6])],
    initializers: [floatTensor('threshold', [], [threshold]), floatTensor('one', [], [1]), floatTensor('zero', [], [0]), int64Tensor('axis1', [1], [1])],
    nodes,
  });
}
