/** HF tokenizers (WordPiece for DistilBERT) from tokenizer.json or vocab.txt, via @huggingface/tokenizers. */
export { loadTokenizer, tokenizerFingerprint, tokenizerFromJson, bertTokenizerJsonFromVocab } from './tokenizer.js';
export type { Tokenizer, EncodedBatch, Padding } from './tokenizer.js';
