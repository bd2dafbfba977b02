"""dotlightning: QLoRA fine-tuning of small LLMs that write Graphviz DOT, with proof that the fine-tune worked.

The subpackages read as the pipeline: ``data`` (records, prompts, batches and sampling, the DataModule, the dataset
generator) -> ``model`` (base models, loss, the LightningModule, generation, adapters) -> ``metrics`` (DOT parsing,
graph metrics, tables) -> ``train`` (callbacks, reliability, logger) -> ``cli`` (the command table and each command).
"""

__version__ = "0.1.0"
