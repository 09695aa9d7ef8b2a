// A small builder for ONNX graphs written in code (onnx-proto's protobuf classes), so test models and the
// rule-based starter model ship as TypeScript that can be read and reviewed, not as opaque binary files.
// Opset 17 and IR version 8: what onnxruntime 1.30 and every current exporter understand.
import { onnx } from 'onnx-proto';

export const OPSET_VERSION = 17;
export const IR_VERSION = 8;

/** A dimension: a fixed size or a symbolic (dynamic) name. */
export type Dim = number | string;
export type AttributeValue = number | string | number[] | { float: number } | { floats: number[] } | { ints: number[] };

export function floatTensor(name: string, dims: number[], values: ArrayLike<number>): onnx.ITensorProto {
  const expected = dims.reduce((a, b) => a * b, 1);
  if (values.length !== expected) throw new RangeError(`initializer '${name}' has ${values.length} values but dims [${dims.join(', ')}] need ${expected}`);
  const data = Float32Array.from(values);
  return { name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(data.buffer) };
}

export function int64Tensor(name: string, dims: number[], values: number[]): onnx.ITensorProto {
  const data = BigInt64Array.from(values.map((v) => BigInt(v)));
  return { name, dims, dataType: onnx.TensorProto.DataType.INT64, rawData: new Uint8Array(data.buffer) };
}

export function tensorValueInfo(name: string, shape: Dim[], elemType = onnx.TensorProto.DataType.FLOAT): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, value: AttributeValue): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (typeof value === 'number') return Number.isInteger(value) ? { name, type: T.INT, i: value } : { name, type: T.FLOAT, f: value };
  if (Array.isArray(value)) return { name, type: T.INTS, ints: value };
  if ('float' in value) return { name, type: T.FLOAT, f: value.float };
  if ('floats' in value) return { name, type: T.FLOATS, floats: value.floats };
  return { name, type: T.INTS, ints: value.ints };
}

/** A node; integer numbers become INT attributes, others FLOAT ({ float }, { floats }, { ints } force the type). */
export function node(opType: string, inputs: string[], outputs: string[], attributes: Record<string, AttributeValue> = {}, name?: string): onnx.INodeProto {
  return {
    opType,
    input: inputs,
    output: outputs,
    name: name ?? `${opType}_${outputs[0]}`,
    attribute: Object.entries(attributes).map(([k, v]) => attribute(k, v)),
  };
}

export interface GraphSpec {
  name: string;
  doc?: string;
  inputs: onnx.IValueInfoProto[];
  outputs: onnx.IValueInfoProto[];
  initializers: onnx.ITensorProto[];
  nodes: onnx.INodeProto[];
}

/** Serialises a graph as an ONNX model file's bytes. */
export function encodeModel(graph: GraphSpec, producer = { name: 'contour', version: '0.1.0' }): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET_VERSION }],
    producerName: producer.name,
    producerVersion: producer.version,
    docString: graph.doc ?? '',
    graph: {
      name: graph.name,
      docString: graph.doc ?? '',
      input: graph.inputs,
      output: graph.outputs,
      initializer: graph.initializers,
      node: graph.nodes,
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
