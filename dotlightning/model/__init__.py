"""The model: base models (and the tiny test model), the loss, the LightningModule, generation (greedy, grammar-
constrained, best of n), what an adapter records, adapter and GGUF export, and the memory table."""
