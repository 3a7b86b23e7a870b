/** Hugging Face model cards: parse, ingest a folder, harvest from the Hub, read a baseline's metrics. */
export { parseCard, parseCardNumber, modelIdFromFileName, normalizeScheduler, snakeKey } from './parse.js';
export type { ParseCardOptions } from './parse.js';
export { CARD_FIELDS, NUMERIC_FIELDS } from './types.js';
export type { CardField, CardValues, EpochRow, ParsedCard, Provenance } from './types.js';
export { parseCardFile, ingestCards, listCardFiles, cardColumns, cardRow, cardsCsv, epochsCsv, cardsJson } from './ingest.js';
export type { CardRecord, CardRow } from './ingest.js';
export { cardsAccuracy, formatAccuracy } from './accuracy.js';
export type { AccuracyReport, FieldMismatch } from './accuracy.js';
export { harvestCards, baseModelAliases, baseModelFilters } from './harvest.js';
export type { HarvestOptions, HarvestResult } from './harvest.js';
export { baselineFromCard, baselineForColumns, metricOfColumn, readBaselineCard, configFromCard } from './baseline.js';
export type { CardBaseline } from './baseline.js';
