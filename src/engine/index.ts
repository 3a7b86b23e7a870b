/** ONNX graph building, reverse-mode gradients and ORT sessions. Knows no model. */
export {};
