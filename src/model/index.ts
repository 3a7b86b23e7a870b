/** DistilBertForSequenceClassification on the engine; safetensors in and out; HF config and init. */
export {};
