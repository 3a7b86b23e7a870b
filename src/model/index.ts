/** DistilBertForSequenceClassification on the engine; safetensors in and out; HF config and init. */
// checkpoint I/O (MODELIO)
export { parseDistilBertConfig, createDistilBertConfig, configToJson, withLabels, DISTILBERT_DEFAULTS, MAX_LABELS, parameterCount, checkModelSize } from './config.js';
export type { DistilBertConfig } from './config.js';
export { readSafetensors, writeSafetensors, serializeSafetensors, nonFiniteTensor } from './safetensors.js';
export type { NamedTensor, ParameterMap } from './safetensors.js';
export { initDistilBertParameters, distilBertParameterSpecs, sinusoidalPositionEmbeddings } from './init.js';
export type { ParameterSpec, ParameterKind } from './init.js';
export { loadPretrained, savePretrained, createTinyModelDir, defaultVocabDir, TOKENIZER_FILES } from './pretrained.js';
export type { PretrainedModel, LoadPretrainedOptions, TinyModelOptions } from './pretrained.js';
// the network (ENGINE)
export { DistilBertForSequenceClassification, distilBertParameterShapes, hfNoDecay } from './distilbert.js';
export type { Batch, OptimizerConfig, DistilBertNetworkConfig, AdamWState } from './distilbert.js';
export { writeOptimizerState, readOptimizerState } from './optimizer-state.js';
export type { AdamWParamGroup } from './optimizer-state.js';
