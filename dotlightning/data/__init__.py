"""Data: records (reading and validating pair files), prompts (the training text format), batches and sampling, the
DataModule, and ``synth``, the generator of the shipped dataset."""
