"""Training around the LightningModule: callbacks (adapter export, base-vs-tuned table, the files validation, test and
predict leave), reliability (atomic checkpoints, exact resume, NaN/Inf stop, out-of-memory note) and the logger."""
