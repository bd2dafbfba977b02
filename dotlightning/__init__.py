"""dotlightning: QLoRA fine-tuning of small LLMs that write Graphviz DOT, with proof that the fine-tune worked.

The modules read as the pipeline: records -> prompts -> data -> base_models -> loss -> model -> generation -> dot ->
metrics -> score/generate/export -> cli.
"""

__version__ = "0.1.0"
