"""data.packing: whole examples packed into fixed-shape rows, each example's loss and gradients as if alone."""

from __future__ import annotations

import lightning.pytorch as L
import pytest
import torch

from dotlightning.model.base_models import load_tokenizer
from dotlightning.data.batches import collate, collate_packed, pack_first_fit_decreasing
from dotlightning.data.datamodule import DotDataModule
from dotlightning.data.sampling import PackedSampler
from dotlightning.model.loss import _backbone_and_head, causal_lm_loss
from dotlightning.model.module import DotLoRAModule
from dotlightning.data.prompts import IGNORE_INDEX

from conftest import make_pairs, write_jsonl


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer("tiny")


def make_data(tokenizer, train_file, **overrides) -> DotDataModule:
    settings = dict(train_file=str(train_file), val_file=None, test_file=None, batch_size=2, max_seq_length=128,
                    packing=True, pack_length=256)
    data = DotDataModule(**(settings | overrides))
    data.connect(tokenizer)
    data.setup("fit")
    return data


@pytest.fixture(scope="module")
def train_file(tmp_path_factory):
    return write_jsonl(tmp_path_factory.mktemp("packing") / "train.jsonl", make_pairs(40))


def packed_module(tokenizer, attn: str, sliding_window: int) -> DotLoRAModule:
    """The tiny Gemma 3 in fp32 with one sliding-window layer (window ``sliding_window``) and one full-attention layer,
    LoRA on q/v with random lora_B (so every LoRA gradient is non-zero)."""
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    config = Gemma3TextConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                              num_attention_heads=4, num_key_value_heads=1, head_dim=16, query_pre_attn_scalar=16,
                              max_position_embeddings=2048, sliding_window=sliding_window,
                              layer_types=["sliding_attention", "full_attention"], attn_implementation=attn,
                              pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
                              eos_token_id=tokenizer.eos_token_id)
    torch.manual_seed(0)
    base = Gemma3ForCausalLM(config).float()
    module = DotLoRAModule(base_model="tiny", quantization="none", dtype="float32", lora_dropout=0.0)
    module.build(torch.device("cpu"), base=base)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, parameter in module.named_parameters():
            if "lora_B" in name:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.05)
    return module


def lora_grads(module) -> dict[str, torch.Tensor]:
    return {name: p.grad.clone() for name, p in module.named_parameters() if p.requires_grad}


def loss_and_grads(module, batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    module.zero_grad(set_to_none=True)
    loss = causal_lm_loss(module.model, batch)
    loss.backward()
    return loss.detach(), lora_grads(module)


def spans(batch) -> list[tuple[int, int, int]]:
    """(row, start, end) of every packed example, from the restarting position ids."""
    out = []
    for row in range(batch["position_ids"].shape[0]):
        starts = (batch["position_ids"][row] == 0).nonzero().view(-1).tolist() + [batch["position_ids"].shape[1]]
        real = int(batch["attention_mask"][row].sum())
        out += [(row, a, b) for a, b in zip(starts, starts[1:]) if a < real]
    return out


def only(batch, keep: tuple[int, int, int]):
    """The packed batch with every label outside one example's span set to -100."""
    row, start, end = keep
    labels = torch.full_like(batch["labels"], IGNORE_INDEX)
    labels[row, start:end] = batch["labels"][row, start:end]
    return {**batch, "labels": labels, "num_labelled": int((labels[:, 1:] != IGNORE_INDEX).sum())}


# ---------------------------------------------------------------------------------------------------------------------
# Loss and gradients equal the unpacked run


@pytest.mark.parametrize(("attn", "sliding_window"), [("sdpa", 8), ("eager", 8), ("sdpa", 2048)])
def test_packed_batch_gives_each_example_its_unpacked_loss_and_the_same_lora_gradients(tokenizer, train_file, attn,
                                                                                         sliding_window):
    data = make_data(tokenizer, train_file)
    module = packed_module(tokenizer, attn, sliding_window)
    packed = next(iter(data.train_dataloader()))
    by_id = {e["id"]: e for e in data.datasets["train"].examples}
    examples = [by_id[i] for i in packed["id"]]
    assert packed["examples"] == len(examples) >= 5 and packed["input_ids"].shape == (2, 256)
    assert max(len(e["input_ids"]) for e in examples) > 2 * 8  # longer than the window: the window matters

    # The same examples right-padded, the unpacked path: same labelled tokens, so the same mean and gradients.
    unpacked = collate(examples, pad_id=data.pad_id)
    assert unpacked["num_labelled"] == packed["num_labelled"]
    packed_loss, packed_grads = loss_and_grads(module, packed)
    unpacked_loss, unpacked_grads = loss_and_grads(module, unpacked)
    torch.testing.assert_close(packed_loss, unpacked_loss, rtol=1e-4, atol=1e-6)
    assert all(g.abs().sum() > 0 for g in unpacked_grads.values())
    for name, grad in unpacked_grads.items():
        torch.testing.assert_close(packed_grads[name], grad, rtol=1e-4, atol=1e-7, msg=name)

    # Each example alone: its summed loss equals the sum over its span of the packed row.
    with torch.no_grad():
        for example, span in zip(examples, spans(packed)):
            alone = collate([example], pad_id=data.pad_id)
            alone_sum = causal_lm_loss(module.model, alone) * alone["num_labelled"]
            piece = only(packed, span)
            assert piece["num_labelled"] == alone["num_labelled"]
            torch.testing.assert_close(causal_lm_loss(module.model, piece) * piece["num_labelled"], alone_sum,
                                       rtol=1e-4, atol=1e-5)


def test_no_attention_across_examples_perturbing_one_leaves_the_others_unchanged(tokenizer, train_file):
    data = make_data(tokenizer, train_file)
    module = packed_module(tokenizer, "sdpa", 8)
    batch = next(iter(data.train_dataloader()))
    (row, a0, b0), (row1, a1, b1) = spans(batch)[:2]
    assert row == row1
    backbone, _, _ = _backbone_and_head(module.model)

    def hidden(input_ids):
        with torch.no_grad():
            return backbone(input_ids=input_ids, position_ids=batch["position_ids"], attention_mask=None,
                            use_cache=False).last_hidden_state

    before = hidden(batch["input_ids"])
    changed = batch["input_ids"].clone()
    changed[row, a0 + 1:b0] = torch.randint(4, len(tokenizer), (b0 - a0 - 1,), generator=torch.Generator().manual_seed(1))
    after = hidden(changed)
    assert not torch.allclose(after[row, a0 + 1:b0], before[row, a0 + 1:b0])  # the perturbation does something
    torch.testing.assert_close(after[row, a1:b1], before[row, a1:b1], rtol=0, atol=1e-6)  # next example: untouched
    torch.testing.assert_close(after[row, b0:], before[row, b0:], rtol=0, atol=1e-6)  # nor anything after it
    # A 2D mask or a cache would switch transformers' packed-sequence detection off: then example 1 sees example 0.
    with torch.no_grad():
        leaky = backbone(input_ids=changed, position_ids=batch["position_ids"],
                         attention_mask=batch["attention_mask"], use_cache=False).last_hidden_state
    assert not torch.allclose(leaky[row, a1:b1], before[row, a1:b1], atol=1e-4)


def test_rows_joined_into_one_row_as_flash_kernels_need_give_the_same_hidden_states_and_loss(tokenizer, train_file):
    """flash_attention_2 finds packed sequences from position ids only at batch size 1, so causal_lm_loss joins the
    rows for it; each row starts a new segment at position 0, so the joined row computes the same thing (checked on
    sdpa, which handles both layouts; flash itself needs a GPU)."""
    from types import SimpleNamespace

    from dotlightning.model.loss import flattens_packed_rows, naive_causal_lm_loss

    data = make_data(tokenizer, train_file)
    module = packed_module(tokenizer, "sdpa", 8)
    batch = next(iter(data.train_dataloader()))
    backbone, _, _ = _backbone_and_head(module.model)
    with torch.no_grad():
        rows = backbone(input_ids=batch["input_ids"], position_ids=batch["position_ids"], attention_mask=None,
                        use_cache=False).last_hidden_state
        joined = backbone(input_ids=batch["input_ids"].reshape(1, -1), position_ids=batch["position_ids"].reshape(1, -1),
                          attention_mask=None, use_cache=False).last_hidden_state
        torch.testing.assert_close(joined.reshape(rows.shape), rows, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(naive_causal_lm_loss(module.model, batch), causal_lm_loss(module.model, batch),
                                   rtol=1e-5, atol=1e-6)
    assert flattens_packed_rows(SimpleNamespace(_attn_implementation="flash_attention_2"), rows=4)
    assert not flattens_packed_rows(SimpleNamespace(_attn_implementation="flash_attention_2"), rows=1)
    assert not any(flattens_packed_rows(SimpleNamespace(_attn_implementation=a), rows=4)
                   for a in ("sdpa", "eager", "flex_attention", None))


# ---------------------------------------------------------------------------------------------------------------------
# Batch layout


@pytest.mark.parametrize("sliding_window", [8, 2048])
def test_varlen_attention_from_cu_seqlens_gives_the_mask_paths_loss_and_lora_gradients(tokenizer, train_file,
                                                                                       sliding_window):
    """model.packed_attention='varlen': the training forward switches to varlen attention (on CPU its dense
    reference; on CUDA FlashAttention-2) fed with the batch's cu_seqlens, builds no mask, and gives sdpa's loss and
    gradients, with a sliding window shorter than the examples and with one longer; the model's own attention is back
    afterwards (validation and generation use it)."""
    from dotlightning.model import varlen_attention

    data = make_data(tokenizer, train_file)
    module = packed_module(tokenizer, "sdpa", sliding_window)
    packed = next(iter(data.train_dataloader()))
    assert max(len(e) for e in data._train_sampler().rows) + 1 == (packed["cu_seqlens"].numel() - 1) // 2
    sdpa_loss, sdpa_grads = loss_and_grads(module, packed)
    module.zero_grad(set_to_none=True)
    config = module.model.get_base_model().config
    seen = []
    original = varlen_attention.varlen_attention
    with pytest.MonkeyPatch.context() as patch:  # spy: the varlen function really runs, once per layer
        patch.setattr(varlen_attention, "varlen_attention", lambda *a, **k: seen.append(a[3]) or original(*a, **k))
        loss = causal_lm_loss(module.model, packed, packed_attention="varlen")
    loss.backward()
    assert len(seen) == 2 and all(cu is packed["cu_seqlens"] for cu in seen)
    assert config._attn_implementation == "sdpa"
    torch.testing.assert_close(loss.detach(), sdpa_loss, rtol=1e-4, atol=1e-6)
    for name, grad in sdpa_grads.items():
        torch.testing.assert_close(lora_grads(module)[name], grad, rtol=1e-4, atol=1e-7, msg=name)


def test_varlen_attention_needs_cu_seqlens_and_says_how_to_get_them(tokenizer, train_file):
    data = make_data(tokenizer, train_file)
    module = packed_module(tokenizer, "sdpa", 8)
    batch = {k: v for k, v in next(iter(data.train_dataloader())).items() if k != "cu_seqlens"}
    with pytest.raises(ValueError, match="no cu_seqlens. Fix"):
        causal_lm_loss(module.model, batch, packed_attention="varlen")
    with pytest.raises(ValueError, match="packed_attention must be 'sdpa' or 'varlen'.*Fix"):
        DotLoRAModule(base_model="tiny", packed_attention="flash")


def test_cu_seqlens_mark_every_example_and_each_rows_padding_at_a_fixed_length():
    examples = [{"input_ids": [5] * n, "labels": [5] * n, "prompt_ids": [5], "prompt": "p", "completion": "c",
                 "kind": "k", "source": "s", "id": str(n)} for n in (3, 2, 4)]
    batch = collate_packed([examples[:2], examples[2:]], pad_id=0, pack_length=8, batch_size=3, max_segments=9)
    # row 0: 0-3, 3-5, padding 5-8; row 1: 8-12, padding 12-16; row 2 (missing): 16-24; then empty segments
    assert batch["cu_seqlens"].tolist() == [0, 3, 5, 8, 12, 16, 24, 24, 24, 24]
    assert batch["cu_seqlens"].dtype == torch.int32
    full = collate_packed([[examples[0], examples[2]]], pad_id=0, pack_length=7, batch_size=1, max_segments=2)
    assert full["cu_seqlens"].tolist() == [0, 3, 7]  # a full row has no padding segment
    with pytest.raises(ValueError, match="more than max_segments=2. Fix"):
        collate_packed([examples], pad_id=0, pack_length=9, batch_size=1, max_segments=2)
    assert "cu_seqlens" not in collate_packed([examples], pad_id=0, pack_length=9, batch_size=1)


def test_position_ids_restart_labels_stay_per_example_and_the_shape_is_fixed(tokenizer, train_file):
    data = make_data(tokenizer, train_file, batch_size=3, pack_length=200)
    by_id = {e["id"]: e for e in data.datasets["train"].examples}
    seen = []
    batches = list(data.train_dataloader())
    assert len(batches) == len(data.train_dataloader()) == data.stats["train"]["batches"]
    for batch in batches:
        assert batch["input_ids"].shape == batch["labels"].shape == batch["position_ids"].shape == (3, 200)
        assert batch["num_labelled"] == int((batch["labels"][:, 1:] != IGNORE_INDEX).sum())
        assert batch["examples"] == len(batch["id"]) == len(spans(batch))
        for (row, start, end), example_id in zip(spans(batch), batch["id"]):
            e = by_id[example_id]
            n = len(e["input_ids"])
            assert end - start >= n and batch["position_ids"][row, start:start + n].tolist() == list(range(n))
            assert batch["input_ids"][row, start:start + n].tolist() == e["input_ids"]
            # prompt -100, completion + EOS labelled, and the first token never a target of the previous example
            assert batch["labels"][row, start].item() == IGNORE_INDEX
            assert batch["labels"][row, start + 1:start + n].tolist() == e["labels"][1:]
            assert batch["labels"][row, start + n - 1].item() == tokenizer.eos_token_id
            assert batch["attention_mask"][row, start:start + n].all()
            seen.append(example_id)
        real = batch["attention_mask"].sum(1)
        for row in range(3):  # padding after the last example: unlabelled, its own segment
            assert (batch["labels"][row, int(real[row]):] == IGNORE_INDEX).all()
            assert not batch["attention_mask"][row, int(real[row]):].any()
    assert sorted(seen) == sorted(by_id)  # every example once per epoch
    real_tokens = sum(int(b["attention_mask"].sum()) for b in batches)
    assert data.padding_fraction("train") == pytest.approx(1 - real_tokens / (len(batches) * 3 * 200))
    assert data.batch_lengths("train") == [200] * len(batches)


def test_first_token_label_is_masked_even_when_training_on_the_prompt(tokenizer):
    examples = [{"input_ids": [5, 6, 7], "labels": [5, 6, 7], "prompt_ids": [5], "prompt": "p", "completion": "c",
                 "kind": "k", "source": "s", "id": str(i)} for i in range(2)]
    batch = collate_packed([examples], pad_id=0, pack_length=8, batch_size=2)
    assert batch["labels"].tolist() == [[-100, 6, 7, -100, 6, 7, -100, -100], [-100] * 8]
    assert batch["position_ids"].tolist() == [[0, 1, 2, 0, 1, 2, 0, 1], list(range(8))]
    assert batch["num_labelled"] == 4 and batch["examples"] == 2
    unpacked = collate(examples, pad_id=0)
    assert unpacked["num_labelled"] == batch["num_labelled"]  # nothing predicts position 0 there either


def test_first_fit_decreasing_keeps_examples_whole_and_fills_rows():
    import numpy as np

    lengths = np.clip(np.random.default_rng(0).lognormal(5.1, 0.5, 3600), 40, 512).astype(int).tolist()
    rows = pack_first_fit_decreasing(lengths, 1024, seed=0)
    assert sorted(i for row in rows for i in row) == list(range(len(lengths)))
    assert all(sum(lengths[i] for i in row) <= 1024 for row in rows)
    assert sum(lengths) / (len(rows) * 1024) > 0.97  # ~3% padding, vs ~1 x 4 x 512 for a padded 4-batch
    assert pack_first_fit_decreasing(lengths, 1024, seed=0) == rows


def test_examples_longer_than_pack_length_are_dropped_and_counted(tokenizer, tmp_path):
    rows = make_pairs(10) + [{"prompt": "long " * 60, "completion": "digraph { a -> b; }"}] * 3
    data = make_data(tokenizer, write_jsonl(tmp_path / "t.jsonl", rows), max_seq_length=512, pack_length=100)
    assert data.stats["train"]["too_long"] == 3 and data.stats["train"]["records"] == 10
    assert max(data.datasets["train"].lengths) <= 100
    unpacked = make_data(tokenizer, tmp_path / "t.jsonl", max_seq_length=512, packing=False)
    assert unpacked.stats["train"]["too_long"] == 0  # pack_length applies only with packing
    with pytest.raises(ValueError, match="longer than pack_length=5. Fix: raise pack_length"):
        make_data(tokenizer, tmp_path / "t.jsonl", pack_length=5)


def test_invalid_packing_settings_say_how_to_fix():
    with pytest.raises(ValueError, match="pack_length=0 must be an integer > 1. Fix: use e.g. pack_length=1024"):
        DotDataModule(packing=True, pack_length=0)
    with pytest.raises(ValueError, match="packing='yes' must be true or false. Fix"):
        DotDataModule(packing="yes")


def test_unpacked_by_default_and_batches_unchanged(tokenizer, train_file):
    assert DotDataModule().packing is False
    data = make_data(tokenizer, train_file, packing=False, batch_size=4)
    batch = next(iter(data.train_dataloader()))
    assert "position_ids" not in batch and "examples" not in batch and len(batch["id"]) == 4


# ---------------------------------------------------------------------------------------------------------------------
# Order: deterministic, reshuffled per epoch, resumable, sharded


def order(loader, epoch):
    loader.batch_sampler.sampler.set_epoch(epoch)
    return [tuple(b["id"]) for b in loader]


def test_packed_order_is_deterministic_given_the_seed_and_reshuffled_per_epoch(tokenizer, train_file):
    first = make_data(tokenizer, train_file, seed=1).train_dataloader()
    again = make_data(tokenizer, train_file, seed=1).train_dataloader()
    other = make_data(tokenizer, train_file, seed=2).train_dataloader()
    assert order(first, 0) == order(again, 0) and order(first, 1) == order(again, 1)
    assert order(first, 0) != order(first, 1)  # a new order each epoch
    assert order(first, 0) != order(other, 0)
    assert len(first) == len(order(first, 0)) == len(order(first, 5))  # the same number of batches every epoch


def test_packed_loader_state_dict_resumes_exactly_mid_epoch(tokenizer, train_file):
    loader = make_data(tokenizer, train_file).train_dataloader()
    full = order(loader, 2)
    assert len(full) >= 4
    it = iter(loader)
    head = [tuple(next(it)["id"]) for _ in range(2)]
    state = loader.state_dict()
    assert state["epoch"] == 2 and state["batches_yielded"] == 2 and state["pack_length"] == 256
    resumed = make_data(tokenizer, train_file).train_dataloader()  # a new process: new objects, same config
    resumed.load_state_dict(state)
    assert head + [tuple(b["id"]) for b in resumed] == full
    with pytest.raises(ValueError, match="cannot resume the train dataloader exactly.*packing"):
        make_data(tokenizer, train_file, pack_length=512).train_dataloader().load_state_dict(state)
    with pytest.raises(ValueError, match="cannot resume the train dataloader exactly"):
        make_data(tokenizer, train_file, packing=False).train_dataloader().load_state_dict(state)


class Recorder(L.LightningModule):
    """Records the ids of every training batch (and its example count)."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.seen = []

    def training_step(self, batch, batch_idx):
        self.seen.append((self.current_epoch, tuple(batch["id"]), batch["examples"]))
        return (self.w * batch["attention_mask"].float().mean()).sum()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_lightning_resume_with_exact_resume_gives_the_same_remaining_packed_batches(tokenizer, train_file, tmp_path):
    from lightning.pytorch.callbacks import ModelCheckpoint

    from dotlightning.train.reliability import ExactResume

    def fit(ckpt=None):
        model = Recorder()
        data = DotDataModule(train_file=str(train_file), val_file=None, test_file=None, batch_size=2,
                             max_seq_length=128, packing=True, pack_length=256, seed=3)
        data.connect(tokenizer)
        trainer = L.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False,
                            num_sanity_val_steps=0, default_root_dir=tmp_path, max_epochs=2,
                            callbacks=[ExactResume(seed=3), ModelCheckpoint(
                                dirpath=tmp_path / "ckpt", filename="{step}", every_n_train_steps=3, save_top_k=-1)])
        trainer.fit(model, datamodule=data, ckpt_path=ckpt)
        return model.seen

    full = fit()
    per_epoch = len(full) // 2
    assert per_epoch >= 4 and full[0][1] != full[per_epoch][1]
    assert sum(n for epoch, _, n in full if epoch == 0) == 40  # every example once per epoch
    later = next(step for step in range(per_epoch + 1, 2 * per_epoch) if step % 3 == 0)
    for step in (3, later):  # mid-epoch 0, and mid-epoch 1
        assert fit(str(tmp_path / "ckpt" / f"step={step}.ckpt")) == full[step:]


@pytest.mark.parametrize("world_size", [2, 3])
def test_ddp_ranks_get_disjoint_packed_batches_covering_every_example(tokenizer, train_file, world_size):
    data = make_data(tokenizer, train_file, batch_size=1, pack_length=160)
    single = data.train_dataloader()
    shards = []
    for rank in range(world_size):
        data._rank_and_world_size = lambda rank=rank: (rank, world_size)
        loader = data.train_dataloader()
        shards.append(order(loader, 1))
        assert len(loader) == len(shards[-1])
    assert len({len(s) for s in shards}) == 1  # every rank runs the same number of steps
    ids = [i for shard in shards for batch in shard for i in batch]
    assert sorted(ids) == sorted(i for batch in order(single, 1) for i in batch)  # everything, once
    assert len(ids) == len(set(ids)) == 40


def test_sampler_pads_the_last_batch_with_empty_rows():
    sampler = PackedSampler([60, 50, 40, 30, 20], batch_size=3, pack_length=64)
    assert sorted(sampler.rows) == [(0,), (1,), (2, 4), (3,)]
    batches = sampler.batches(0)
    assert [len(b) for b in batches] == [3, 1] and sampler.num_batches() == 2
    assert sorted(i for b in batches for row in b for i in row) == [0, 1, 2, 3, 4]


# ---------------------------------------------------------------------------------------------------------------------
# Through the trainer


def test_fit_with_packing_trains_and_logs_examples_per_step(tokenizer, train_file, tmp_path):
    module = DotLoRAModule(base_model="tiny", quantization="none", lora_dropout=0.0, learning_rate=1e-2,
                           warmup_ratio=0.0, max_new_tokens=8)
    data = DotDataModule(train_file=str(train_file), val_file=None, test_file=None, batch_size=2, max_seq_length=128,
                         packing=True, pack_length=256)
    data.connect(module.tokenizer)
    trainer = L.Trainer(accelerator="cpu", devices=1, max_steps=3, logger=False, enable_progress_bar=False,
                        enable_model_summary=False, num_sanity_val_steps=0, default_root_dir=tmp_path,
                        enable_checkpointing=False)
    trainer.fit(module, datamodule=data)
    metrics = trainer.callback_metrics
    assert torch.isfinite(metrics["train/loss"]) and metrics["train/examples"] >= 5


def test_compiled_backbone_meets_one_shape_and_matches_eager_on_packed_batches(tokenizer, train_file):
    """With packing every batch is [batch_size, pack_length]: the compiled backbone (inductor on CPU) compiles once,
    keeps attention inside each example (transformers builds the packed mask inside the graph), and gives eager's loss
    and LoRA gradients on every batch."""
    import torch._dynamo
    import torch._inductor.config
    from torch._dynamo.utils import counters

    data = make_data(tokenizer, train_file)
    module = DotLoRAModule(base_model="tiny", quantization="none", dtype="float32", lora_dropout=0.0, compile="default")
    module.configure_model()
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, parameter in module.named_parameters():
            if "lora_B" in name:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.05)
    torch._dynamo.reset()
    counters.clear()
    graphs = []
    with torch._inductor.config.patch({"cpp.vec_isa_ok": False}):  # scalar kernels: a faster cold compile on CPU
        for batch in list(data.train_dataloader())[:2]:
            eager_loss, eager_grads = loss_and_grads(module, batch)
            module.zero_grad(set_to_none=True)
            loss = causal_lm_loss(module.model, batch, backbone=module._compiled_backbone)
            loss.backward()
            graphs.append(counters["stats"]["unique_graphs"])
            torch.testing.assert_close(loss.detach(), eager_loss, rtol=1e-5, atol=1e-6)
            for name, grad in eager_grads.items():
                torch.testing.assert_close(lora_grads(module)[name], grad, rtol=1e-4, atol=1e-7, msg=name)
    torch._dynamo.reset()
    assert graphs[0] > 0 and graphs[-1] == graphs[0], f"recompiled for a packed batch of the same shape: {graphs}"


def test_compiled_training_starts_on_packed_batches_without_pad_to_multiple_of(tokenizer, train_file):
    """Packed batches have one shape, so a compiled fit needs no data.pad_to_multiple_of: preparing the compiled step
    must neither warn about new lengths nor divide by the missing multiple (it did: TypeError, 2026-12-03)."""
    import types
    import warnings
    from unittest import mock

    data = make_data(tokenizer, train_file)
    assert data.packing and data.pad_to_multiple_of is None
    module = DotLoRAModule(base_model="tiny", quantization="none", dtype="float32", compile="default")
    module.configure_model()
    with mock.patch.object(type(module), "trainer", types.SimpleNamespace(datamodule=data)), warnings.catch_warnings():
        warnings.simplefilter("error")
        module._prepare_compiled_training()
