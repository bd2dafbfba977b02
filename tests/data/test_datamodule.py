"""Tests for dotlightning.data.prompts and dotlightning.data.datamodule with REAL tokenizers trained here in milliseconds.

Tokenizer variants: BOS-prepending with a separate pad token; pad == eos without BOS (Llama/Qwen-base style); and a
Gemma-like chat template that has no system role.
"""

import json

import numpy as np
import pytest
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

from dotlightning.data.batches import padding_fraction_of
from dotlightning.data.datamodule import DotDataModule
from dotlightning.data.sampling import LengthGroupedSampler
from dotlightning.data.prompts import DEFAULT_SYSTEM, IGNORE_INDEX, PromptFormat
from dotlightning.data.records import RecordError

GEMMA_LIKE_TEMPLATE = (  # raises on a system turn, like Gemma 2's template
    "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'system' %}"
    "{{ raise_exception('System role not supported') }}{% endif %}"
    "<start_of_turn>{{ 'model' if m['role'] == 'assistant' else m['role'] }}\n{{ m['content'] }}<end_of_turn>\n"
    "{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)
CHATML_TEMPLATE = (  # has a system role, no BOS
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
CORPUS = [
    "digraph { a -> b; b -> c [label=\"go\"]; }",
    "graph G { x -- y; y -- z; }",
    f"<system>{DEFAULT_SYSTEM}</system>\n<user>A graph where a points to b and b to c.</user>\n<assistant>",
]
_TOKENIZERS: dict = {}


def make_tokenizer(variant: str = "bos") -> PreTrainedTokenizerFast:
    """'bos': prepends <bos>, pad=<pad>; 'pad_eos': no BOS, pad == eos; 'gemma': 'bos' + Gemma-like chat template."""
    if variant not in _TOKENIZERS:
        specials = ["<pad>", "<bos>", "<eos>", "<unk>", "<start_of_turn>", "<end_of_turn>", "<|im_start|>",
                    "<|im_end|>"]
        tk = Tokenizer(models.BPE(unk_token="<unk>"))
        tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tk.decoder = decoders.ByteLevel()
        tk.train_from_iterator(CORPUS * 3, trainers.BpeTrainer(
            vocab_size=400, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
        if variant == "pad_eos":
            tok = PreTrainedTokenizerFast(tokenizer_object=tk, eos_token="<eos>", pad_token="<eos>", unk_token="<unk>")
            tok.chat_template = CHATML_TEMPLATE
        else:
            bos = tk.token_to_id("<bos>")
            tk.post_processor = processors.TemplateProcessing(single="<bos> $A", pair="<bos> $A $B",
                                                              special_tokens=[("<bos>", bos)])
            tok = PreTrainedTokenizerFast(tokenizer_object=tk, bos_token="<bos>", eos_token="<eos>",
                                          pad_token="<pad>", unk_token="<unk>")
            if variant == "gemma":
                tok.chat_template = GEMMA_LIKE_TEMPLATE
        _TOKENIZERS[variant] = tok
    return _TOKENIZERS[variant]


DESC = "A graph where a points to b."
DOT = 'digraph { a -> b [label="go"]; }'


def split_by_label(enc, tok):
    """(text of masked tokens, text of labelled tokens), decoded with special tokens kept."""
    ids, labels = enc["input_ids"], enc["labels"]
    masked = [i for i, l in zip(ids, labels) if l == IGNORE_INDEX]
    labelled = [l for l in labels if l != IGNORE_INDEX]
    return tok.decode(masked), tok.decode(labelled)


# ---------------------------------------------------------------------------------------------------------------------
# Prompt formats, masking, EOS


@pytest.mark.parametrize("variant", ["bos", "pad_eos"])
def test_tags_masking_labels_exactly_completion_plus_eos(variant):
    tok = make_tokenizer(variant)
    fmt = PromptFormat()
    enc = fmt.encode(tok, DESC, DOT)
    masked, labelled = split_by_label(enc, tok)
    bos = "<bos>" if variant == "bos" else ""
    assert masked == f"{bos}<system>{DEFAULT_SYSTEM}</system>\n<user>{DESC}</user>\n<assistant>"
    assert labelled == DOT + "<eos>"
    assert enc["labels"][-1] == tok.eos_token_id == enc["input_ids"][-1]
    assert enc["prompt_length"] == sum(1 for l in enc["labels"] if l == IGNORE_INDEX)
    assert enc["input_ids"].count(tok.bos_token_id) == (1 if variant == "bos" else 0)


def test_train_on_prompt_and_prompt_only_encoding():
    tok = make_tokenizer("bos")
    enc = PromptFormat().encode(tok, DESC, DOT, train_on_prompt=True)
    assert enc["labels"] == enc["input_ids"]
    prompt_only = PromptFormat().encode(tok, DESC)
    assert prompt_only["input_ids"] == enc["input_ids"][: enc["prompt_length"]]
    assert set(prompt_only["labels"]) == {IGNORE_INDEX}


def test_chat_template_without_system_role_folds_system_into_user_turn():
    tok = make_tokenizer("gemma")
    fmt = PromptFormat(style="chat")
    text = fmt.render(DESC, tok)
    assert text == f"<bos><start_of_turn>user\n{DEFAULT_SYSTEM}\n\n{DESC}<end_of_turn>\n<start_of_turn>model\n"
    enc = fmt.encode(tok, DESC, DOT)
    masked, labelled = split_by_label(enc, tok)
    assert masked == text  # exactly one BOS: the template's, not a second one from the tokenizer
    assert enc["input_ids"].count(tok.bos_token_id) == 1
    assert labelled == DOT + "<eos>"


def test_chat_template_with_system_role_keeps_it_and_missing_template_is_an_error():
    tok = make_tokenizer("pad_eos")
    text = PromptFormat(style="chat").render(DESC, tok)
    assert text.startswith(f"<|im_start|>system\n{DEFAULT_SYSTEM}<|im_end|>\n<|im_start|>user\n{DESC}")
    with pytest.raises(ValueError, match="has no chat template. Fix: use prompt_style='tags'"):
        PromptFormat(style="chat").render(DESC, make_tokenizer("bos"))
    with pytest.raises(ValueError, match="Fix: use 'tags' or 'chat'"):
        PromptFormat(style="alpaca")


# ---------------------------------------------------------------------------------------------------------------------
# DataModule end to end


def dot_for(i: int, n_edges: int) -> str:
    return "digraph { " + " ".join(f"n{i}_{k} -> n{i}_{k + 1};" for k in range(n_edges)) + " }"


def write_jsonl(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def make_rows(n: int, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    return [{"prompt": f"chain number {i}", "completion": dot_for(i, int(rng.integers(1, 12))), "id": f"r{i}",
             "kind": "chain"} for i in range(n)]


def make_dm(tmp_path, rows=None, tokenizer="pad_eos", **kw) -> DotDataModule:
    train = write_jsonl(tmp_path / "train.jsonl", rows if rows is not None else make_rows(40))
    kw = {"val_file": None, "test_file": None, "batch_size": 4, **kw}
    dm = DotDataModule(train_file=train, **kw)
    dm.connect(make_tokenizer(tokenizer))
    return dm


@pytest.mark.parametrize("multiple", [None, 16])
def test_collated_batch_with_pad_equal_eos_keeps_every_real_eos_labelled(tmp_path, multiple):
    dm = make_dm(tmp_path, group_by_length=False, pad_to_multiple_of=multiple)
    dm.setup("fit")
    tok = dm.tokenizer
    batch = next(iter(dm.train_dataloader()))
    assert set(batch) >= {"input_ids", "attention_mask", "labels", "prompt_ids", "prompt", "completion", "kind",
                          "source", "id", "num_labelled"}
    # Counted on the host, so the loss can select the labelled rows without a device sync.
    assert batch["num_labelled"] == int((batch["labels"][:, 1:] != IGNORE_INDEX).sum()) > 0
    lengths = batch["attention_mask"].sum(1)
    width = batch["input_ids"].shape[1]
    assert batch["labels"].shape == batch["attention_mask"].shape == (len(batch["id"]), width)
    if multiple is None:
        assert width == int(lengths.max())
    else:  # rounded up to the next multiple (this batch's longest row has 199 tokens: T is 208)
        assert width % multiple == 0 and 0 < width - int(lengths.max()) < multiple
    assert len(set(lengths.tolist())) > 1, "need different lengths so some rows are padded (with eos ids)"
    for row in range(len(batch["id"])):
        n = int(lengths[row])
        ids, labels = batch["input_ids"][row], batch["labels"][row]
        assert (ids[n:] == tok.pad_token_id).all() and (labels[n:] == IGNORE_INDEX).all()
        assert batch["attention_mask"][row, :n].all()  # the mask is a prefix of ones: real tokens, then padding
        assert labels[n - 1] == tok.eos_token_id  # the real EOS is labelled although eos == pad
        assert tok.decode(labels[labels != IGNORE_INDEX].tolist()) == batch["completion"][row] + "<eos>"
        assert ids[: len(batch["prompt_ids"][row])].tolist() == batch["prompt_ids"][row]
        assert tok.decode(batch["prompt_ids"][row]) == PromptFormat().render(batch["prompt"][row], tok)


def test_max_seq_length_drops_long_examples_and_counts_them(tmp_path):
    rows = make_rows(10) + [{"prompt": "long", "completion": dot_for(99, 60)}] * 3
    dm = make_dm(tmp_path, rows, max_seq_length=200)
    dm.setup("fit")
    assert dm.stats["train"]["too_long"] == 3 and dm.stats["train"]["records"] == 10
    assert max(dm.datasets["train"].lengths) <= 200
    # Nothing is truncated: every kept example still ends with its full completion + EOS.
    assert all(e["labels"][-1] == dm.tokenizer.eos_token_id for e in dm.datasets["train"].examples)
    with pytest.raises(ValueError, match="longer than max_seq_length=5. Fix: raise max_seq_length"):
        make_dm(tmp_path, rows, max_seq_length=5).setup("fit")


def test_split_one_file_deterministically_by_seed(tmp_path):
    def splits(seed):
        dm = make_dm(tmp_path, make_rows(100), val_fraction=0.1, test_fraction=0.2, seed=seed)
        dm.setup()
        return {k: [r.id for r in v] for k, v in dm.records.items() if k != "predict"}

    a, b, c = splits(1), splits(1), splits(2)
    assert a == b and a != c
    assert (len(a["train"]), len(a["val"]), len(a["test"])) == (70, 10, 20)
    assert sorted(a["train"] + a["val"] + a["test"]) == sorted(f"r{i}" for i in range(100))


def test_separate_split_files_and_custom_field_names(tmp_path):
    rows = [{"q": r["prompt"], "a": r["completion"]} for r in make_rows(12)]
    val = write_jsonl(tmp_path / "v.jsonl", rows[:3])
    dm = make_dm(tmp_path, rows, val_file=val, test_file=val, prompt_field="q", completion_field="a",
                 eval_batch_size=2, limit_train=8)
    dm.setup("fit")
    dm.setup("test")
    assert len(dm.datasets["train"]) == 8 and len(dm.datasets["val"]) == 3
    assert [len(b["id"]) for b in dm.val_dataloader()] == [2, 1]
    assert sum(len(b["id"]) for b in dm.test_dataloader()) == 3


def test_invalid_config_fields_say_how_to_fix():
    with pytest.raises(ValueError, match="val_fraction=0.1 and val_file=.*Fix: set val_file to null"):
        DotDataModule(val_fraction=0.1)
    with pytest.raises(ValueError, match="prompt_style='alpaca'.*Fix"):
        DotDataModule(prompt_style="alpaca")
    with pytest.raises(ValueError, match="max_seq_length=0 must be positive. Fix"):
        DotDataModule(max_seq_length=0)
    for bad in (0, -64, 64.0, True):
        with pytest.raises(ValueError, match=f"pad_to_multiple_of={bad!r} must be a positive integer or null. Fix: "
                                             "use e.g. pad_to_multiple_of=64"):
            DotDataModule(pad_to_multiple_of=bad)
    with pytest.raises(ValueError, match="pad_to_multiple_of=1024 is larger than max_seq_length=512.*Fix: use a value"):
        DotDataModule(pad_to_multiple_of=1024, max_seq_length=512)
    assert DotDataModule(pad_to_multiple_of=512, max_seq_length=512).pad_to_multiple_of == 512
    with pytest.raises(RuntimeError, match="before connect"):
        DotDataModule(train_file="x.jsonl", val_file=None, test_file=None).setup("fit")


def test_malformed_and_invalid_input_through_the_datamodule(tmp_path):
    rows = make_rows(6) + ["{broken", {"prompt": "p", "completion": "digraph { a -> "},
                           {"prompt": "", "completion": "x"}]
    with pytest.raises(RecordError, match=r"train.jsonl:7: malformed JSON"):
        make_dm(tmp_path, rows).setup("fit")
    dm = make_dm(tmp_path, rows, skip_invalid=True)
    dm.setup("fit")
    assert dm.stats["train"]["skipped"] == {"malformed": 1, "invalid_dot": 1, "empty_prompt": 1}
    assert dm.stats["train"]["records"] == 6


def test_defaults_point_at_shipped_data_and_help_comes_from_field_docstrings():
    from pathlib import Path

    import jsonargparse

    import dotlightning

    root = Path(dotlightning.__file__).resolve().parent.parent
    assert DotDataModule().train_file == str(root / "data" / "train.jsonl")
    jsonargparse.set_parsing_settings(docstring_parse_attribute_docstrings=True)
    parser = jsonargparse.ArgumentParser()
    parser.add_class_arguments(DotDataModule, "data")
    help_text = parser.format_help()
    assert "Longer ones are dropped and counted, never truncated" in help_text
    cfg = parser.parse_args(["--data.prompt_style", "chat", "--data.val_file", "null"])
    assert cfg.data.prompt_style == "chat" and cfg.data.val_file is None


# ---------------------------------------------------------------------------------------------------------------------
# Length grouping


def realistic_lengths(n=4000, seed=0):
    """Prompt + DOT lengths in tokens: log-normal around ~180 tokens, long tail to ~1000 (like description->DOT)."""
    rng = np.random.default_rng(seed)
    return np.clip(rng.lognormal(mean=5.2, sigma=0.5, size=n), 40, 1000).astype(int).tolist()


def test_length_grouping_padding_below_5_percent_and_every_example_once():
    lengths = realistic_lengths()
    sampler = LengthGroupedSampler(lengths, batch_size=8, seed=0, window=64)
    for epoch in range(3):
        batches = sampler.batches(epoch)
        assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
        assert padding_fraction_of(batches, lengths) < 0.05
    plain = LengthGroupedSampler(lengths, batch_size=8, seed=0, window=1).batches(0)
    assert padding_fraction_of(plain, lengths) > 0.25  # what grouping saves
    assert sampler.batches(0) == LengthGroupedSampler(lengths, 8, seed=0).batches(0)  # deterministic
    assert sampler.batches(0) != sampler.batches(1)  # new order each epoch
    first = sampler.batches(0)[0]
    assert max(lengths[i] for i in first) == max(lengths)  # biggest batch first: OOM shows at step 0


@pytest.mark.parametrize("multiple", [None, 32])
def test_datamodule_padding_fraction_matches_the_batches_it_yields(tmp_path, multiple):
    dm = make_dm(tmp_path, make_rows(200), batch_size=8, group_window=8, pad_to_multiple_of=multiple)
    dm.setup("fit")
    masks = [b["attention_mask"] for b in dm.train_dataloader()]  # epoch 0
    actual = sum(int((m == 0).sum()) for m in masks) / sum(m.numel() for m in masks)
    assert dm.padding_fraction("train") == pytest.approx(actual) == dm.stats["train"]["padding_fraction"]
    assert dm.batch_lengths("train") == [m.shape[1] for m in masks]
    if multiple is not None:  # few shapes: what a compiled backbone needs
        assert all(m.shape[1] % multiple == 0 for m in masks)
        assert dm.stats["train"]["batch_lengths"] == len({m.shape[1] for m in masks}) <= 512 // multiple
        return
    ungrouped = make_dm(tmp_path, make_rows(200), batch_size=8, group_by_length=False)
    ungrouped.setup("fit")
    assert ungrouped.padding_fraction("train") > 2 * actual


# ---------------------------------------------------------------------------------------------------------------------
# Exact mid-epoch resume


def ids_of(batches):
    return [tuple(b["id"]) for b in batches]


def test_loader_state_dict_resumes_exactly_mid_epoch(tmp_path):
    dm = make_dm(tmp_path, make_rows(40))
    dm.setup("fit")
    loader = dm.train_dataloader()
    loader.batch_sampler.sampler.set_epoch(2)
    full = ids_of(loader)
    assert len(full) == len(loader) == 10

    it = iter(loader)
    head = [tuple(next(it)["id"]) for _ in range(4)]
    state = loader.state_dict()
    assert state["epoch"] == 2 and state["batches_yielded"] == 4

    fresh = make_dm(tmp_path, make_rows(40))  # a new process: new objects, same config
    fresh.setup("fit")
    resumed = fresh.train_dataloader()
    resumed.load_state_dict(state)
    tail = ids_of(resumed)
    assert head + tail == full
    assert resumed.state_dict()["batches_yielded"] == 10
    resumed.batch_sampler.sampler.set_epoch(3)  # the resume applies once; the next epoch is a full new order
    assert len(ids_of(resumed)) == 10

    other = make_dm(tmp_path, make_rows(40), batch_size=8)
    other.setup("fit")
    with pytest.raises(ValueError, match="cannot resume the train dataloader exactly.*Fix"):
        other.train_dataloader().load_state_dict(state)


class Recorder(__import__("lightning").LightningModule):
    """Records the ids of every training batch it sees; the smallest real LightningModule that trains."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.seen = []

    def training_step(self, batch, batch_idx):
        self.seen.append((self.current_epoch, tuple(batch["id"])))
        return (self.w * batch["attention_mask"].float().mean()).sum()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def trainer_for(tmp_path, **kw):
    import lightning as L

    return L.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False,
                     num_sanity_val_steps=0, default_root_dir=tmp_path, **kw)


def test_lightning_trainer_resumes_mid_epoch_with_the_same_remaining_batches(tmp_path):
    from lightning.pytorch.callbacks import ModelCheckpoint

    def fit(ckpt=None):
        model = Recorder()
        dm = make_dm(tmp_path, make_rows(20))  # 5 batches per epoch
        trainer = trainer_for(tmp_path, max_epochs=2, callbacks=[ModelCheckpoint(
            dirpath=tmp_path / "ckpt", filename="{step}", every_n_train_steps=3, save_top_k=-1)])
        trainer.fit(model, datamodule=dm, ckpt_path=ckpt)
        return model.seen

    full = fit()
    assert len(full) == 10 and full[0][1] != full[5][1]
    for step in (3, 6):  # mid-epoch 0, and mid-epoch 1
        assert fit(str(tmp_path / "ckpt" / f"step={step}.ckpt")) == full[step:]


def test_overfit_batches_sees_the_same_batch_every_epoch(tmp_path):
    model = Recorder()
    trainer_for(tmp_path, max_epochs=3, overfit_batches=1, enable_checkpointing=False).fit(
        model, datamodule=make_dm(tmp_path, make_rows(20)))
    assert len(model.seen) == 3 and len({ids for _, ids in model.seen}) == 1


def test_data_seed_follows_seed_everything_unless_set(monkeypatch):
    import lightning

    monkeypatch.delenv("PL_GLOBAL_SEED", raising=False)
    assert DotDataModule().seed == 42
    lightning.seed_everything(7)  # sets PL_GLOBAL_SEED, as the CLI's seed_everything does before building the data
    assert DotDataModule().seed == 7
    assert DotDataModule(seed=3).seed == 3
