"""Validation samples for people: samples.md, SVGs on disk, and HWC uint8 images for TensorBoard."""

from __future__ import annotations

import numpy as np

from dotlightning.train.samples import write_samples


class FakeExperiment:
    """What write_samples needs of TensorBoard's SummaryWriter: add_text and add_image, recorded."""

    def __init__(self) -> None:
        self.texts: list[tuple] = []
        self.images: list[tuple] = []

    def add_text(self, tag, text, step):
        self.texts.append((tag, text, step))

    def add_image(self, tag, image, step, dataformats="CHW"):
        self.images.append((tag, image, step, dataformats))


SAMPLES = [
    {"prompt": "a to b", "prediction": "digraph { a -> b }"},
    {"prompt": "nonsense", "prediction": "I cannot draw that."},
    {"prompt": "x and y", "prediction": "Sure:\n```dot\ngraph { x -- y }\n```"},
]


def test_samples_are_logged_as_hwc_uint8_images_and_unparseable_ones_skipped(tmp_path):
    experiment = FakeExperiment()
    folder = write_samples(SAMPLES, tmp_path / "step-000007", experiment, step=7)
    assert [tag for tag, *_ in experiment.images] == ["val/sample_0", "val/sample_2"]
    for _tag, image, step, dataformats in experiment.images:
        assert isinstance(image, np.ndarray) and image.dtype == np.uint8
        assert image.ndim == 3 and image.shape[2] == 3 and image.shape[0] > 10 and image.shape[1] > 10
        assert step == 7 and dataformats == "HWC"
        assert image.min() < 100 and image.max() == 255  # dark strokes on a white (not transparent-black) page
    assert experiment.texts[0][0] == "val/samples" and "nonsense" in experiment.texts[0][1]
    assert sorted(p.name for p in folder.iterdir()) == ["sample-0.svg", "sample-2.svg", "samples.md"]


def test_samples_without_an_image_logger_are_only_written_to_disk(tmp_path):
    folder = write_samples(SAMPLES[:1], tmp_path / "s", experiment=object())
    assert (folder / "sample-0.svg").read_bytes().lstrip().startswith((b"<?xml", b"<svg"))
