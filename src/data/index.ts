/** Datasets: TSV/CSV/JSONL/parquet loaders, Hub dataset files, seeded subsampling and splits, token-id caching. */
export {};
