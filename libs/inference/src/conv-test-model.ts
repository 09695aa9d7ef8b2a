// A convolution with known weights as an ONNX model, built in code: the reference against which the runner's
// whole-volume, per-slice and sliding-window paths are checked (its output can be computed by hand in JS).
import { encodeModel, floatTensor, node, tensorValueInfo } from './onnx-graph';

export interface ConvTestModelOptions {
  /** 3: input [N, 1, D, H, W] (NCDHW); 2: input [N, 1, H, W] (NCHW). Spatial and batch dims are dynamic. */
  spatialDims?: 2 | 3;
  channelsOut: number;
  /** Odd kernel size; 'SAME' zero padding of kernel >> 1 on every side keeps the output on the input grid. */
  kernel: number;
  /** channelsOut · kernel^spatialDims values, [out][dz][dy][dx] (ONNX Conv is a cross-correlation). */
  weights: ArrayLike<number>;
  bias?: ArrayLike<number>;
  relu?: boolean;
  inputName?: string;
  outputName?: string;
}

export function buildConvTestModel(options: ConvTestModelOptions): Uint8Array {
  const { channelsOut, kernel, relu = false, inputName = 'input', outputName = 'output' } = options;
  const spatialDims = options.spatialDims ?? 3;
  if (!Number.isInteger(kernel) || kernel < 1 || kernel % 2 === 0) throw new RangeError(`kernel must be an odd size, got ${kernel}`);
  const r = kernel >> 1;
  const spatial = spatialDims === 3 ? ['D', 'H', 'W'] : ['H', 'W'];
  const kernelShape = new Array<number>(spatialDims).fill(kernel);
  const bias = options.bias ?? new Array<number>(channelsOut).fill(0);
  const convOut = relu ? 'conv' : outputName;
  const nodes = [node('Conv', [inputName, 'weight', 'bias'], [convOut], { kernel_shape: kernelShape, pads: new Array<number>(2 * spatialDims).fill(r) })];
  if (relu) nodes.push(node('Relu', [convOut], [outputName]));
  return encodeModel({
    name: `conv${spatialDims}d-test`,
    doc: `Conv${spatialDims}d ${channelsOut}x1x${kernelShape.join('x')} with SAME zero padding${relu ? ', then ReLU' : ''}; a test model with known weights.`,
    inputs: [tensorValueInfo(inputName, ['N', 1, ...spatial])],
    outputs: [tensorValueInfo(outputName, ['N', channelsOut, ...spatial])],
    initializers: [floatTensor('weight', [channelsOut, 1, ...kernelShape], options.weights), floatTensor('bias', [channelsOut], bias)],
    nodes,
  });
}

/** The 3-D case: input [N, 1, D, H, W], output [N, channelsOut, D, H, W]. */
export function buildConv3dTestModel(options: Omit<ConvTestModelOptions, 'spatialDims'>): Uint8Array {
  return buildConvTestModel({ ...options, spatialDims: 3 });
}
