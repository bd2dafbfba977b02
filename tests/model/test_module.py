"""The LightningModule on a tiny real model: it learns, survives validation, round-trips its adapter, merges, resumes."""

from __future__ import annotations

import json
from types import SimpleNamespace

import lightning.pytorch as L
import pytest
import torch

from dotlightning.model.base_models import BaseModelError, load_base_model
from dotlightning.cli.commands import main as cli_main
from dotlightning.model.adapter_export import export_adapter
from dotlightning.model.adapter_metadata import CheckpointMismatchError
from dotlightning.model.generation import generate_dot
from dotlightning.model.loss import causal_lm_loss
from dotlightning.model.module import DotLoRAModule
from helpers import make_data, make_module, make_trainer


def lora_weights(module: DotLoRAModule) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().clone() for name, tensor in module.trainable_state_dict().items()}


class LossRecorder(L.Callback):
    def __init__(self) -> None:
        self.losses: list[float] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.losses.append(float(outputs["loss"]))


def test_fit_loss_falls_on_a_repeated_batch(tmp_path, pair_files):
    module = make_module(learning_rate=3e-2)
    recorder = LossRecorder()
    trainer = make_trainer(tmp_path, max_steps=25, overfit_batches=1, check_val_every_n_epoch=1000, callbacks=[recorder])
    trainer.fit(module, datamodule=make_data(module, pair_files))
    assert len(recorder.losses) == 25
    # A random 2-layer model with adapters on q/v only moves slowly (measured 6.25 -> 5.62); a broken step stays put.
    assert recorder.losses[-1] < recorder.losses[0] - 0.3, recorder.losses
    assert sum(later < earlier for earlier, later in zip(recorder.losses, recorder.losses[1:])) >= 20


def test_only_lora_weights_train(pair_files):
    module = make_module()
    module.configure_model()
    trainable = [name for name, parameter in module.named_parameters() if parameter.requires_grad]
    assert trainable and all("lora_" in name for name in trainable)
    assert {name.rsplit(".lora_", 1)[0].rsplit(".", 1)[-1] for name in trainable} == {"q_proj", "v_proj"}


@pytest.mark.parametrize("quantization", ["nf4", "none"])
def test_lora_still_trains_after_a_validation_pass_with_generation(tmp_path, pair_files, quantization):
    """bitsandbytes 0.50 on CPU: after a no-grad pass, LoRA grads were silently None. Train -> validate (with generate)
    -> train, and the LoRA weights must keep changing."""
    module = make_module(quantization=quantization)
    snapshots: list[dict[str, torch.Tensor]] = []

    class SnapshotAfterValidation(L.Callback):
        def on_validation_end(self, trainer, pl_module) -> None:
            snapshots.append(lora_weights(pl_module))

    trainer = make_trainer(tmp_path, max_steps=6, val_check_interval=2, limit_val_batches=1,
                           callbacks=[SnapshotAfterValidation()])
    trainer.fit(module, datamodule=make_data(module, pair_files))
    assert len(snapshots) >= 2
    final = lora_weights(module)
    changed = [name for name in final if not torch.equal(final[name], snapshots[-2][name])]
    assert len(changed) == len(final), f"LoRA weights frozen after validation: {set(final) - set(changed)}"
    assert "val/parse_rate" in trainer.callback_metrics
    assert trainer.callback_metrics["val/generate_seconds"] > 0  # each validation reports its generation time


@pytest.mark.parametrize("compile", [None, "default"])
def test_gradient_checkpointing_gives_nonzero_lora_grads(pair_files, compile):
    module = make_module(gradient_checkpointing=True, compile=compile)
    module.configure_model()
    data = make_data(module, pair_files)
    data.setup("fit")
    batch = next(iter(data.train_dataloader()))
    if compile:  # no hook makes the embedding output require grad: it would be a graph break (whole forward eager)
        assert not module.model.get_input_embeddings()(batch["input_ids"]).requires_grad
    causal_lm_loss(module.model, batch).backward()  # the eager backbone: the compiled one computes the same
    grads = [parameter.grad for parameter in module.parameters() if parameter.requires_grad]
    assert all(grad is not None and grad.abs().sum() > 0 for grad in grads[1::2])  # lora_B grads (A's are 0 at init)


def randomize_lora_b(module: DotLoRAModule) -> None:
    """lora_B starts at zero, which leaves every lora_A gradient zero; seeded random values make all of them count."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, parameter in module.named_parameters():
            if "lora_B" in name:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.05)


def lora_grads(module: DotLoRAModule) -> dict[str, torch.Tensor]:
    return {name: parameter.grad.clone() for name, parameter in module.named_parameters() if parameter.requires_grad}


def test_bucket_padding_gives_the_same_loss_and_lora_gradients(pair_files):
    """pad_to_multiple_of only appends masked, unlabelled positions: loss and every LoRA gradient stay the same."""
    module = make_module(dtype="float32")
    module.configure_model()
    randomize_lora_b(module)

    def loss_and_grads(**data_overrides):
        data = make_data(module, pair_files, **data_overrides)
        data.setup("fit")
        batch = next(iter(data.train_dataloader()))
        module.zero_grad(set_to_none=True)
        loss = causal_lm_loss(module.model, batch)
        loss.backward()
        return batch, loss.detach(), lora_grads(module)

    plain, plain_loss, plain_grads = loss_and_grads()
    padded, padded_loss, padded_grads = loss_and_grads(pad_to_multiple_of=64)
    assert padded["id"] == plain["id"]
    assert padded["input_ids"].shape[1] % 64 == 0 and padded["input_ids"].shape[1] > plain["input_ids"].shape[1]
    torch.testing.assert_close(padded_loss, plain_loss, rtol=1e-5, atol=1e-6)
    assert all(grad.abs().sum() > 0 for grad in plain_grads.values())
    for name, grad in plain_grads.items():
        torch.testing.assert_close(padded_grads[name], grad, rtol=1e-4, atol=1e-7, msg=name)


class StepProbe(L.Callback):
    """Records each step's loss, the LoRA gradients each optimizer step sees, and how many graphs torch.compile had
    built when validation started and ended. ``random_lora_b``: the same random lora_B in every run."""

    def __init__(self, random_lora_b: bool = False) -> None:
        from torch._dynamo.utils import counters

        self.counters, self.random_lora_b = counters, random_lora_b
        self.losses: list[float] = []
        self.grads: list[dict[str, torch.Tensor]] = []
        self.grad_buffers: list[list[int]] = []  # data_ptr of each .grad, per optimizer step
        self.graphs: list[int] = []

    def on_train_start(self, trainer, pl_module) -> None:
        if self.random_lora_b:
            randomize_lora_b(pl_module)

    def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
        self.grads.append(lora_grads(pl_module))
        self.grad_buffers.append([p.grad.data_ptr() for p in pl_module.parameters() if p.requires_grad])

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.losses.append(float(outputs["loss"]))

    def on_validation_start(self, trainer, pl_module) -> None:
        self.graphs.append(self.counters["stats"]["unique_graphs"])

    def on_validation_end(self, trainer, pl_module) -> None:
        self.graphs.append(self.counters["stats"]["unique_graphs"])


def fit_probed(tmp_path, pair_files, probe: StepProbe, compile: str | None, **trainer_overrides) -> DotLoRAModule:
    import torch._dynamo

    torch._dynamo.reset()
    probe.counters.clear()
    module = make_module(compile=compile, dtype="float32")
    torch.manual_seed(0)  # the same lora_A initialisation in every run (after make_module: building tiny reseeds)
    trainer = make_trainer(tmp_path, callbacks=[probe], **trainer_overrides)
    # pad_to_multiple_of = max_seq_length: every batch is 4 x 128, so the backbone compiles for one shape.
    trainer.fit(module, datamodule=make_data(module, pair_files, pad_to_multiple_of=128))
    torch._dynamo.reset()
    return module


def test_compiled_training_step_matches_eager_and_evaluation_stays_eager(tmp_path, pair_files, monkeypatch):
    """compile='default' (inductor on CPU): the compiled backbone runs the training forward, one step gives the eager
    loss and LoRA gradients, and the validation with generation after it compiles nothing. Measured on 2 cores: ~17 s
    with a cold inductor cache (/tmp/torchinductor_$USER), ~3 s warm."""
    import torch._inductor.config

    # Scalar C++ kernels: no SIMD probing and simpler code halve the cold compile (31 s -> 17 s on 2 cores). Through
    # config.patch: pytest's monkeypatch leaves torch's context-variable config entries hidden after undoing.
    eager, compiled = StepProbe(random_lora_b=True), StepProbe(random_lora_b=True)
    with torch._inductor.config.patch({"cpp.vec_isa_ok": False}):
        for probe, mode in ((eager, None), (compiled, "default")):
            fit_probed(tmp_path, pair_files, probe, mode, max_steps=1, val_check_interval=1, limit_val_batches=1)
    assert eager.graphs == [0, 0] and compiled.graphs[0] > 0, "the compiled run must compile the training forward"
    assert compiled.graphs[1] == compiled.graphs[0], "validation or generation went through the compiled backbone"
    assert len(compiled.losses) == 1 and compiled.losses == pytest.approx(eager.losses, rel=1e-5)
    (eager_grads,), (grads,) = eager.grads, compiled.grads
    assert eager_grads.keys() == grads.keys() and all(g.abs().sum() > 0 for g in eager_grads.values())
    for name, grad in eager_grads.items():
        torch.testing.assert_close(grads[name], grad, rtol=1e-4, atol=1e-7, msg=name)


def test_reduce_overhead_gradient_buffers_accumulate_like_eager(tmp_path, pair_files):
    """compile='reduce-overhead' keeps zeroed .grad buffers between optimizer steps instead of freeing them (a CUDA
    graph would otherwise hand its own output buffer to .grad and overwrite it on the next replay). With gradient
    accumulation, every optimizer step must see eager's gradients. CPU has no CUDA graphs, so the probe swaps the
    eager backbone in: this checks the bookkeeping, not the compiler."""

    class EagerBackbone(StepProbe):
        def on_train_start(self, trainer, pl_module) -> None:
            vars(pl_module)["_compiled_backbone"] = None

    eager, graphed = StepProbe(), EagerBackbone()
    fit_probed(tmp_path, pair_files, eager, None, max_steps=3, accumulate_grad_batches=2, limit_val_batches=0)
    fit_probed(tmp_path, pair_files, graphed, "reduce-overhead", max_steps=3, accumulate_grad_batches=2,
               limit_val_batches=0)
    assert graphed.grad_buffers[0] == graphed.grad_buffers[-1], "the .grad buffers must be zeroed, not replaced"
    assert len(graphed.grads) == len(eager.grads) == 3
    for eager_step, step in zip(eager.grads, graphed.grads):
        for name, grad in eager_step.items():
            torch.testing.assert_close(step[name], grad, rtol=0, atol=0, msg=name)


def test_compile_without_bucket_padding_warns_and_bucketed_fits_may_recompile(pair_files, monkeypatch):
    import torch._dynamo

    module = make_module(compile="reduce-overhead")
    module.trainer = SimpleNamespace(datamodule=make_data(module, pair_files))
    with pytest.warns(UserWarning, match="data.pad_to_multiple_of is null.*Fix: set data.pad_to_multiple_of"):
        module._prepare_compiled_training()
    with torch._dynamo.config.patch(recompile_limit=8):
        module.trainer = SimpleNamespace(datamodule=make_data(module, pair_files, pad_to_multiple_of=8))
        module._prepare_compiled_training()  # max_seq_length 128 / 8 = 16 lengths, and a shorter last batch: 32 shapes
        assert torch._dynamo.config.recompile_limit == 32


def fit_and_export(tmp_path, pair_files, steps: int):
    """A few training steps (so the adapter is not the zero init), then the adapter in peft's format."""
    module = make_module()
    data = make_data(module, pair_files)
    make_trainer(tmp_path, max_steps=steps, limit_val_batches=0).fit(module, datamodule=data)
    return module, data, export_adapter(module, tmp_path / "adapter", datamodule=data)


def test_adapter_round_trip_gives_identical_greedy_generations(tmp_path, pair_files):
    module, data, adapter = fit_and_export(tmp_path, pair_files, steps=8)
    assert (adapter / "adapter_config.json").is_file() and (adapter / "adapter_model.safetensors").is_file()
    assert json.loads((adapter / "dotlightning.json").read_text())["base_model"] == "tiny"

    prompts = [data.prompt_format.encode(module.tokenizer, "Draw idle goes to busy.")["input_ids"]] * 2
    before = generate_dot(module.model, module.tokenizer, prompts, max_new_tokens=16)
    reloaded = make_module(adapter=str(adapter))
    reloaded.configure_model()
    assert generate_dot(reloaded.model, reloaded.tokenizer, prompts, max_new_tokens=16) == before

    # Plain transformers + peft load it too, without dotlightning in the loop.
    from peft import PeftModel

    plain = PeftModel.from_pretrained(load_base_model("tiny", quantization="none"), str(adapter))
    assert generate_dot(plain, module.tokenizer, prompts, max_new_tokens=16) == before


def test_merge_into_bf16_base_and_reload(tmp_path, pair_files, capsys):
    module, data, adapter = fit_and_export(tmp_path, pair_files, steps=4)
    merged_dir = tmp_path / "merged"
    cli_main(["merge", "--adapter", str(adapter), "--output", str(merged_dir)])  # README's command, word for word
    assert f"written to {merged_dir}" in capsys.readouterr().out

    from transformers import AutoModelForCausalLM

    merged = AutoModelForCausalLM.from_pretrained(merged_dir)
    assert not any("lora" in name for name, _ in merged.named_parameters())
    ids = torch.tensor([data.prompt_format.encode(module.tokenizer, "Draw a to b.")["input_ids"]])
    module.model.eval()
    with torch.no_grad():
        expected = module.model(input_ids=ids).logits.float()
        got = merged(input_ids=ids).logits.float()
    assert torch.allclose(got, expected, atol=0.1, rtol=0.05), (got - expected).abs().max()


def test_resume_from_checkpoint_continues_and_stores_only_adapters(tmp_path, pair_files):
    module = make_module()
    checkpoint = L.callbacks.ModelCheckpoint(dirpath=tmp_path / "ckpt", save_last=True, every_n_train_steps=2)
    trainer = make_trainer(tmp_path, max_steps=4, limit_val_batches=0, enable_checkpointing=True, callbacks=[checkpoint])
    trainer.fit(module, datamodule=make_data(module, pair_files))
    last = tmp_path / "ckpt" / "last.ckpt"
    state = torch.load(last, map_location="cpu", weights_only=True)
    assert state["global_step"] == 4
    assert state["state_dict"] and all("lora_" in name for name in state["state_dict"])

    resumed = make_module()
    trainer = make_trainer(tmp_path, max_steps=6, limit_val_batches=0)
    trainer.fit(resumed, datamodule=make_data(resumed, pair_files), ckpt_path=str(last))
    assert trainer.global_step == 6


def test_checkpoint_from_another_base_is_refused(tmp_path, pair_files):
    module = make_module()
    checkpoint = L.callbacks.ModelCheckpoint(dirpath=tmp_path / "ckpt", save_last=True)
    trainer = make_trainer(tmp_path, max_steps=2, limit_val_batches=0, enable_checkpointing=True, callbacks=[checkpoint])
    trainer.fit(module, datamodule=make_data(module, pair_files))
    state = torch.load(tmp_path / "ckpt" / "last.ckpt", map_location="cpu", weights_only=True)
    state["dotlightning"]["base_model"] = "google/gemma-2b-it"
    with pytest.raises(CheckpointMismatchError, match="google/gemma-2b-it.*tiny"):
        make_module().on_load_checkpoint(state)


def test_missing_model_offline_gives_one_line_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(BaseModelError) as error:
        DotLoRAModule(base_model="no-such-org/no-such-model")
    message = str(error.value)
    assert "no-such-org/no-such-model" in message and "local" in message and ".gguf" in message
    assert "\n" not in message


class PoisonGradients(L.Callback):
    """Makes the gradients of the given global steps NaN, as a finite loss did on the H200 (2026-12-01)."""

    def __init__(self, steps: set[int]) -> None:
        self.steps = steps

    def on_after_backward(self, trainer, pl_module) -> None:
        if trainer.global_step in self.steps:
            next(p for p in pl_module.parameters() if p.requires_grad).grad.fill_(float("nan"))


def test_nonfinite_gradients_skip_the_update_instead_of_poisoning_every_weight(tmp_path, pair_files):
    module = make_module(skip_nonfinite_loss=True)
    trainer = make_trainer(tmp_path, max_steps=3, callbacks=[PoisonGradients({1})], limit_val_batches=0)
    trainer.fit(module, datamodule=make_data(module, pair_files))
    assert module._skipped_nonfinite == 1
    assert all(torch.isfinite(w).all() for w in lora_weights(module).values())

    unguarded = make_module()
    trainer = make_trainer(tmp_path, max_steps=3, callbacks=[PoisonGradients({1})], limit_val_batches=0)
    trainer.fit(unguarded, datamodule=make_data(unguarded, pair_files))
    assert not all(torch.isfinite(w).all() for w in lora_weights(unguarded).values())  # what the guard prevents


def test_a_nonfinite_loss_is_skipped_when_asked(tmp_path, pair_files, monkeypatch):
    import dotlightning.model.module as model_module

    calls = {"n": 0}
    real = model_module.causal_lm_loss

    def nan_once(*args, **kwargs):
        calls["n"] += 1
        loss = real(*args, **kwargs)
        return loss * float("nan") if calls["n"] == 2 else loss

    monkeypatch.setattr(model_module, "causal_lm_loss", nan_once)
    module = make_module(skip_nonfinite_loss=True)
    trainer = make_trainer(tmp_path, max_steps=3, limit_val_batches=0)
    trainer.fit(module, datamodule=make_data(module, pair_files))
    assert module._skipped_nonfinite == 1 and calls["n"] >= 3
    assert all(torch.isfinite(w).all() for w in lora_weights(module).values())


@pytest.mark.parametrize("allowed", [False, True])
def test_cudnn_attention_is_off_unless_asked_for(allowed):
    """cuDNN's SDPA kernel gave NaN gradients on an H200: building the module switches it off by default."""
    before = torch.backends.cuda.cudnn_sdp_enabled()
    try:
        torch.backends.cuda.enable_cudnn_sdp(not allowed)
        kwargs = {} if not allowed else {"cudnn_attention": True}
        DotLoRAModule(base_model="tiny", quantization="none", **kwargs).build(torch.device("cpu"))
        assert torch.backends.cuda.cudnn_sdp_enabled() is allowed
    finally:
        torch.backends.cuda.enable_cudnn_sdp(before)
