/** ONNX graph building, reverse-mode gradients and ORT sessions. Knows no model. */
export { Graph, Tensor, isFloat } from './graph.js';
export type { DType, Dim, Shape, Node, AttrValue } from './graph.js';
export { gradients, gradientsMixed, reduceTo, supportedGradientOps } from './autodiff.js';
export type { Grad, SparseGrad } from './autodiff.js';
export { Session, availableExecutionProviders, resolveExecutionProvider, defaultThreads } from './session.js';
export type { HostTensor, HostData, SessionOptions } from './session.js';
export { RandomStream } from './random.js';
export { AdamWStore } from './adamw.js';
export type { AdamWHyper } from './adamw.js';
export { MixedSession, compileGraph } from './mixed.js';
export type { MixedStats, MixedSessionOptions, GraphRunner, Precision } from './mixed.js';
