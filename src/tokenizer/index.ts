/** WordPiece tokenization through Hugging Face's own JS tokenizer (@huggingface/tokenizers). */
export {};
