/** The fine-tuning loop with HF Trainer semantics (AdamW, schedules, clipping, evaluation metrics). */
export {};
