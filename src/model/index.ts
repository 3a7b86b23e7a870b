/** DistilBertForSequenceClassification on the engine; safetensors in and out; HF config and init. */
// checkpoint I/O (MODELIO)
export { parseDistilBertConfig, createDistilBertConfig, configToJson, withLabels, DISTILBERT_DEFAULTS } from './config.js';
export type { DistilBertConfig } from './config.js';
export { createTinyModelDir, defaultVocabDir, TOKENIZER_FILES } from './pretrained.js';
export type { TinyModelOptions } from './pretrained.js';
