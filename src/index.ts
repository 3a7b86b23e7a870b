/**
 * tunescope's public API: one namespace per pipeline stage.
 * Each module's own index.ts is its only public entry.
 */
export * as util from './util/index.js';
export * as data from './data/index.js';
export * as tokenizer from './tokenizer/index.js';
export * as engine from './engine/index.js';
export * as model from './model/index.js';
export * as train from './train/index.js';
export * as study from './study/index.js';
export * as store from './store/index.js';
export * as cards from './cards/index.js';
export * as hub from './hub/index.js';
export * as analysis from './analysis/index.js';
export * as report from './report/index.js';
export * as demo from './demo/index.js';
