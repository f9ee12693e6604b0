/**
 * Builds the ONNX graph of a stacked recurrent network from its weights (PyTorch layout), for ONNX
 * Runtime: `Gather(embedding, tokens)` (token models) feeding one ONNX `RNN`/`LSTM`/`GRU` node per layer,
 * each layer's `Y` squeezed into the next layer's `X`. The graph is encoded with `onnx-proto` (the ONNX
 * protobuf schema compiled for protobufjs), so every model package — PyTorch safetensors and Keras
 * alike — runs on ONNX Runtime without an exported `.onnx` file.
 *
 * Gate orders differ between the two worlds and are permuted here, once, at load:
 * PyTorch LSTM `i,f,g,o` → ONNX `i,o,f,c`; PyTorch GRU `r,z,n` → ONNX `z,r,h` with
 * `linear_before_reset=1` (PyTorch applies the reset gate after the hidden matmul); the bias input is
 * `[Wb, Rb]`.
 *
 * Graph inputs (time-major, padded): `tokens` int32 `[T, B]` or `inputs` float `[T, B, inputSize]`,
 * `lengths` int32 `[B]` (every row ≥ 1 step), and per layer `h0_l{k}` (and `c0_l{k}`) `[1, B, H]`.
 * Outputs: per layer `h_l{k}` (and `c_l{k}`) `[1, B, H]`, each row's state at its own last step; with
 * `outputs: true` also `y`, the last layer's output at every step `[T, 1, B, H]` (zeros past a row's end).
 */
import onnxProto, { type onnx as OnnxTypes } from 'onnx-proto';
import type { RnnWeights } from './cells.js';
import type { HostTensor } from './safetensors.js';
import type { CellKind, RnnConfig } from './types.js';

// onnx-proto is CommonJS: its namespace comes as the default export under ESM.
const { onnx } = onnxProto;

/** ONNX operator set the graph is written against (RNN/GRU/LSTM 14, Squeeze with an axes input). */
export const ONNX_OPSET = 14;

/** Block order that turns PyTorch's gate rows into ONNX's, per cell. */
const ONNX_GATE_ORDER: Readonly<Record<CellKind, number[]>> = {
  rnn: [0],
  lstm: [0, 3, 1, 2],
  gru: [1, 0, 2],
};

const OP_TYPE: Readonly<Record<CellKind, string>> = { rnn: 'RNN', lstm: 'LSTM', gru: 'GRU' };

/** Options of {@link buildOnnxGraph}. */
export interface OnnxGraphOptions {
  /** Also output the last layer's `Y` (every step), for marks inside rows and `returnOutputs`. @default false */
  outputs?: boolean;
}

/** Names of a graph's inputs and outputs, for feeding and fetching. */
export interface OnnxGraphNames {
  /** `tokens` for a token model, `inputs` for a vector model. */
  x: 'tokens' | 'inputs';
  h0: string[];
  c0: string[];
  h: string[];
  c: string[];
  /** `y` when the graph outputs every step. */
  y?: string;
}

/** The names {@link buildOnnxGraph} uses for a network. */
export function onnxGraphNames(
  config: RnnConfig,
  tokenModel: boolean,
  options: OnnxGraphOptions = {},
): OnnxGraphNames {
  const layers = Array.from({ length: config.numLayers }, (_, k) => k);
  const lstm = config.cell === 'lstm';
  return {
    x: tokenModel ? 'tokens' : 'inputs',
    h0: layers.map((k) => `h0_l${k}`),
    c0: lstm ? layers.map((k) => `c0_l${k}`) : [],
    h: layers.map((k) => `h_l${k}`),
    c: lstm ? layers.map((k) => `c_l${k}`) : [],
    y: options.outputs ? 'y' : undefined,
  };
}

/** Rows of a `[G*H, cols]` matrix (or a `[G*H]` vector) with its H-row gate blocks reordered. */
function permuteGates(data: Float32Array, hidden: number, cols: number, order: number[]): Float32Array {
  const block = hidden * cols;
  const out = new Float32Array(order.length * block);
  for (const [to, from] of order.entries())
    out.set(data.subarray(from * block, (from + 1) * block), to * block);
  return out;
}

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT32 = onnx.TensorProto.DataType.INT32;
const INT64 = onnx.TensorProto.DataType.INT64;

/** A float initializer; its bytes are the little-endian `raw_data` ONNX expects (x86 and Arm are both LE). */
function floatTensor(name: string, dims: number[], data: Float32Array): OnnxTypes.ITensorProto {
  return {
    name,
    dims,
    dataType: FLOAT,
    rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  };
}

/** A value's type; a dimension is a symbolic name (`T`, `B`) or a number. */
function valueInfo(name: string, elemType: number, dims: (string | number)[]): OnnxTypes.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

const intAttribute = (name: string, i: number): OnnxTypes.IAttributeProto => ({
  name,
  type: onnx.AttributeProto.AttributeType.INT,
  i,
});

/** The layer's `W`, `R` and `B` in ONNX order, shaped `[1, G*H, in]`, `[1, G*H, H]`, `[1, 2*G*H]`. */
function layerInitializers(
  cell: CellKind,
  hidden: number,
  k: number,
  layer: RnnWeights['layers'][number],
): OnnxTypes.ITensorProto[] {
  const order = ONNX_GATE_ORDER[cell];
  const rows = order.length * hidden;
  const inputs = layer.weightIh.shape[1];
  const tensors = [
    floatTensor(`W_l${k}`, [1, rows, inputs], permuteGates(layer.weightIh.data, hidden, inputs, order)),
    floatTensor(`R_l${k}`, [1, rows, hidden], permuteGates(layer.weightHh.data, hidden, hidden, order)),
  ];
  if (layer.biasIh && layer.biasHh) {
    const bias = new Float32Array(2 * rows);
    bias.set(permuteGates(layer.biasIh.data, hidden, 1, order), 0);
    bias.set(permuteGates(layer.biasHh.data, hidden, 1, order), rows);
    tensors.push(floatTensor(`B_l${k}`, [1, 2 * rows], bias));
  }
  return tensors;
}

/**
 * Encodes the network as a serialized ONNX `ModelProto`, ready for `InferenceSession.create(bytes)`.
 * @example const bytes = buildOnnxGraph(pkg.weights, pkg.config, { outputs: true });
 */
export function buildOnnxGraph(
  weights: RnnWeights,
  config: RnnConfig,
  options: OnnxGraphOptions = {},
): Uint8Array {
  const { cell, hiddenSize: H, numLayers: L } = config;
  const embedding: HostTensor | undefined = weights.embedding;
  const names = onnxGraphNames(config, embedding !== undefined, options);
  const lstm = cell === 'lstm';
  const initializer: OnnxTypes.ITensorProto[] = [];
  const node: OnnxTypes.INodeProto[] = [];
  const input: OnnxTypes.IValueInfoProto[] = [valueInfo('lengths', INT32, ['B'])];
  const output: OnnxTypes.IValueInfoProto[] = [];

  let x: string;
  if (embedding) {
    input.unshift(valueInfo('tokens', INT32, ['T', 'B']));
    initializer.push(floatTensor('embedding', embedding.shape, embedding.data));
    node.push({ opType: 'Gather', input: ['embedding', 'tokens'], output: ['x_l0'], name: 'embed' });
    x = 'x_l0';
  } else {
    input.unshift(valueInfo('inputs', FLOAT, ['T', 'B', config.inputSize]));
    x = 'inputs';
  }
  initializer.push({ name: 'squeeze_axes', dims: [1], dataType: INT64, int64Data: [1] });

  weights.layers.forEach((layer, k) => {
    initializer.push(...layerInitializers(cell, H, k, layer));
    const bias = layer.biasIh && layer.biasHh ? `B_l${k}` : '';
    const nodeInputs = [x, `W_l${k}`, `R_l${k}`, bias, 'lengths', names.h0[k]];
    if (lstm) nodeInputs.push(names.c0[k]);
    const y = `y_l${k}`;
    const isLast = k === L - 1;
    const wantY = !isLast || options.outputs === true;
    const nodeOutputs = [wantY ? y : '', names.h[k]];
    if (lstm) nodeOutputs.push(names.c[k]);
    node.push({
      opType: OP_TYPE[cell],
      name: `layer${k}`,
      input: nodeInputs,
      output: nodeOutputs,
      attribute: [
        intAttribute('hidden_size', H),
        ...(cell === 'gru' ? [intAttribute('linear_before_reset', 1)] : []),
      ],
    });
    input.push(valueInfo(names.h0[k], FLOAT, [1, 'B', H]));
    if (lstm) input.push(valueInfo(names.c0[k], FLOAT, [1, 'B', H]));
    output.push(valueInfo(names.h[k], FLOAT, [1, 'B', H]));
    if (lstm) output.push(valueInfo(names.c[k], FLOAT, [1, 'B', H]));
    if (!isLast) {
      // [T, 1, B, H] → [T, B, H], the next layer's X.
      node.push({ opType: 'Squeeze', input: [y, 'squeeze_axes'], output: [`x_l${k + 1}`], name: `next${k}` });
      x = `x_l${k + 1}`;
    } else if (names.y) {
      node.push({ opType: 'Identity', input: [y], output: [names.y], name: 'outputs' });
      output.push(valueInfo(names.y, FLOAT, ['T', 1, 'B', H]));
    }
  });

  const model = onnx.ModelProto.create({
    irVersion: 7,
    producerName: 'rnnstream',
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    graph: { name: `rnnstream-${cell}`, node, initializer, input, output },
  });
  return onnx.ModelProto.encode(model).finish();
}
