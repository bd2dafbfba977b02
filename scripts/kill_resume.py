"""Kill -9 a `fit` mid-run, resume it with `--ckpt_path last`, and compare its adapter with an uninterrupted run.

    python scripts/kill_resume.py                                   # configs/tiny.yaml on the shipped data
    python scripts/kill_resume.py --kill-after-step 6 -- --data.train_file T.jsonl --data.val_file V.jsonl

Three CLI runs in fresh folders under --workdir (each its own cwd, so each has its own runs/tiny/checkpoints):
reference (uninterrupted), killed (SIGKILL once a checkpoint at step >= --kill-after-step exists, plus
--kill-delay seconds, so the kill lands mid-step or mid-save), and resumed (the same command plus --ckpt_path last in
the killed run's folder). Prints the max abs difference of the two adapter_model.safetensors and exits 1 if it is
above --tolerance (1e-5). tests/train/test_reliability.py runs the same function.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STEP = re.compile(r"step=(\d+)\.ckpt$")


def _cli(args: list[str], cwd: Path, log: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    with log.open("w") as out:
        return subprocess.Popen([sys.executable, "-m", "dotlightning", *args], cwd=cwd, env=env, stdout=out,
                                stderr=subprocess.STDOUT)


def _finish(process: subprocess.Popen, log: Path, what: str, timeout: float) -> None:
    if process.wait(timeout=timeout) != 0:
        raise RuntimeError(f"{what} run failed (exit {process.returncode}); log {log}:\n{log.read_text()[-3000:]}")


def _saved_steps(folder: Path) -> list[int]:
    return sorted(int(m.group(1)) for p in folder.glob("*.ckpt") if (m := STEP.search(p.name)))


def max_abs_diff(adapter_a: Path, adapter_b: Path) -> float:
    from safetensors.torch import load_file

    a, b = load_file(adapter_a / "adapter_model.safetensors"), load_file(adapter_b / "adapter_model.safetensors")
    if a.keys() != b.keys():
        raise ValueError(f"adapters hold different tensors: {sorted(a.keys() ^ b.keys())}")
    return max(float((a[k].float() - b[k].float()).abs().max()) for k in a)


def kill_resume(workdir: Path, cli_args: list[str], *, config: str = "configs/tiny.yaml", kill_after_step: int = 4,
                kill_delay: float = 0.0, timeout: float = 300.0) -> dict:
    """Run reference, killed and resumed fits; return {"max_abs_diff", "killed_after_steps", "resumed_from"}."""
    # configs/X.yaml that is not in the checkout resolves to the packaged config inside the CLI (cli.resolve_config).
    args = ["fit", "--config", str(REPO / config) if (REPO / config).exists() else config, *cli_args]
    runs = {name: workdir / name for name in ("reference", "interrupted")}
    for folder in runs.values():
        folder.mkdir(parents=True, exist_ok=True)
    checkpoints = runs["interrupted"] / "runs" / "tiny" / "checkpoints"

    reference = _cli(args, runs["reference"], workdir / "reference.log")
    killed = _cli(args, runs["interrupted"], workdir / "killed.log")
    deadline = time.monotonic() + timeout
    # ModelCheckpoint writes epoch=..-step=N.ckpt before last.ckpt: wait for both, so the resume has a last to load.
    while not ((checkpoints / "last.ckpt").is_file() and any(s >= kill_after_step for s in _saved_steps(checkpoints))):
        if killed.poll() is not None:
            raise RuntimeError(f"the run ended before a step-{kill_after_step} checkpoint; log {workdir / 'killed.log'}")
        if time.monotonic() > deadline:
            killed.kill()
            raise TimeoutError("no checkpoint appeared in time")
        time.sleep(0.02)
    time.sleep(kill_delay)
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait()
    if killed.returncode != -signal.SIGKILL:
        raise RuntimeError(f"the run finished (exit {killed.returncode}) before the kill; lower --kill-after-step")
    import torch

    killed_at = torch.load(checkpoints / "last.ckpt", map_location="cpu", weights_only=True)["global_step"]

    resumed = _cli([*args, "--ckpt_path", "last"], runs["interrupted"], workdir / "resumed.log")
    _finish(reference, workdir / "reference.log", "reference", timeout)
    _finish(resumed, workdir / "resumed.log", "resumed", timeout)
    resumed_log = (workdir / "resumed.log").read_text()
    if "Restoring states from the checkpoint" not in resumed_log:
        raise RuntimeError(f"the resumed run did not load a checkpoint; log {workdir / 'resumed.log'}")

    adapters = {name: max((folder / "runs" / "tiny").glob("version_*/adapter"), key=lambda p: p.stat().st_mtime)
                for name, folder in runs.items()}
    return {"max_abs_diff": max_abs_diff(adapters["reference"], adapters["interrupted"]),
            "killed_after_steps": killed_at, "adapters": {k: str(v) for k, v in adapters.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="configs/tiny.yaml")
    parser.add_argument("--workdir", type=Path, default=None, help="default: a new temp folder")
    parser.add_argument("--kill-after-step", type=int, default=4)
    parser.add_argument("--kill-delay", type=float, default=0.0, help="seconds to wait after that checkpoint")
    parser.add_argument("--tolerance", type=float, default=1e-5)
    parser.add_argument("cli_args", nargs="*", help="extra CLI arguments after --, e.g. --data.train_file F")
    options = parser.parse_args()
    workdir = options.workdir or Path(tempfile.mkdtemp(prefix="kill-resume-"))
    result = kill_resume(workdir, options.cli_args, config=options.config, kill_after_step=options.kill_after_step,
                         kill_delay=options.kill_delay)
    print(f"killed after step {result['killed_after_steps']}; adapters {result['adapters']}")
    print(f"max abs diff (resumed vs uninterrupted) = {result['max_abs_diff']:.3g} (tolerance {options.tolerance})")
    sys.exit(0 if result["max_abs_diff"] <= options.tolerance else 1)


if __name__ == "__main__":
    main()
