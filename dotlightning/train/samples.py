"""Validation samples handed to people: ``samples.md`` and one SVG per graph on disk, and text plus PNG images in
TensorBoard when the logger is a ``TensorBoardLogger``.

Metrics say how often the model is right; a rendered graph says *how* it is wrong (a missing edge, labels on the
wrong side), which is why each validation leaves the first few samples as pictures. ``DotLoRAModule`` calls
:func:`write_samples` at the end of every validation that generated; it is a plain function so that it can be
tested with a fake ``experiment`` object and no trainer.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from dotlightning.metrics.dot import extract_dot, render

__all__ = ["write_samples", "png_to_array"]


def png_to_array(png: bytes):
    """A PNG as an ``H x W x 3`` ``uint8`` numpy array (what ``add_image(..., dataformats="HWC")`` takes).

    Pillow decodes it (the ``tensorboard`` extra installs it): Graphviz's PNGs may carry an alpha channel, which is
    composited onto white so that a transparent background does not show as black in TensorBoard.
    """
    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        image = image.convert("RGBA")
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(background, image).convert("RGB"), dtype=np.uint8)


def _pillow_or_warn() -> bool:
    """Whether Pillow imports; if not, warn (images are a nicety: validation must not die for them)."""
    try:
        import PIL  # noqa: F401
    except ImportError:
        import warnings

        warnings.warn("dotlightning: Pillow is not installed, so validation samples are not logged as TensorBoard "
                      "images (the SVGs are still written). Fix: pip install 'dotlightning[tensorboard]'", stacklevel=3)
        return False
    return True


def write_samples(samples: Sequence[dict[str, str]], folder: str | Path, experiment=None, step: int = 0) -> Path:
    """Write ``folder/samples.md`` and ``folder/sample-I.svg``; log text and images to ``experiment`` if it can.

    Args:
        samples: Dicts with ``prompt`` and ``prediction`` (the model's raw output; the DOT is extracted from it).
        folder: Created if missing.
        experiment: The logger's ``experiment``: with ``add_text`` (TensorBoard's ``SummaryWriter``) it gets the
            markdown as ``val/samples``; with ``add_image`` each sample that parses and renders is logged as
            ``val/sample_I`` (PNG decoded to HWC uint8). Samples that do not parse are in the text only. Anything
            else (CSVLogger's writer, None) gets nothing.
        step: The global step the text and images are logged at.

    Returns:
        ``folder``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    graphs = []
    for index, sample in enumerate(samples):
        lines.append(f"## sample {index}\n\n**prompt**\n\n{sample['prompt']}\n\n**prediction**\n\n"
                     f"```dot\n{sample['prediction']}\n```\n")
        graph, _ = extract_dot(sample["prediction"])
        graphs.append(graph)
        svg = render(graph) if graph else None
        if svg:
            (folder / f"sample-{index}.svg").write_bytes(svg)
    (folder / "samples.md").write_text("\n".join(lines), encoding="utf-8")
    if hasattr(experiment, "add_text"):
        experiment.add_text("val/samples", "\n".join(lines), step)
    if hasattr(experiment, "add_image") and _pillow_or_warn():
        for index, graph in enumerate(graphs):
            png = render(graph, fmt="png") if graph else None
            if png:
                experiment.add_image(f"val/sample_{index}", png_to_array(png), step, dataformats="HWC")
    return folder
