"""What many tests build: the tiny LoRA module, a data module over the session's pair files, a quiet CPU trainer."""

from __future__ import annotations

import lightning.pytorch as L

from dotlightning.data.datamodule import DotDataModule
from dotlightning.model.module import DotLoRAModule


def make_module(**overrides) -> DotLoRAModule:
    settings = dict(base_model="tiny", quantization="none", lora_dropout=0.0, max_new_tokens=12, log_samples=2,
                    generate_max_samples=4, learning_rate=1e-2, warmup_ratio=0.0)
    return DotLoRAModule(**(settings | overrides))


def make_data(module: DotLoRAModule, pair_files, **overrides) -> DotDataModule:
    settings = dict(train_file=str(pair_files["train"]), val_file=str(pair_files["val"]),
                    test_file=str(pair_files["test"]), batch_size=4, max_seq_length=128)
    data = DotDataModule(**(settings | overrides))
    data.connect(module.tokenizer)
    return data


def make_trainer(tmp_path, **overrides) -> L.Trainer:
    settings = dict(accelerator="cpu", devices=1, max_steps=4, logger=False, enable_progress_bar=False,
                    enable_model_summary=False, num_sanity_val_steps=0, default_root_dir=tmp_path,
                    enable_checkpointing=False)
    return L.Trainer(**(settings | overrides))
