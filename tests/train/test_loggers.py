"""The GPU configs' logger: Lightning's TensorBoardLogger when TensorBoard is installed, else CSV with the fix."""

from __future__ import annotations

import warnings

import pytest

from dotlightning.train import loggers


def test_tensorboard_logger_falls_back_to_csv_with_the_fix_when_tensorboard_is_missing(tmp_path, monkeypatch):
    from lightning.pytorch.loggers import CSVLogger

    monkeypatch.setattr(loggers, "tensorboard_available", lambda: False)
    with pytest.warns(UserWarning, match=r"Fix: pip install 'dotlightning\[tensorboard\]'"):
        logger = loggers.TensorBoardLogger(str(tmp_path), name="run", version=3)
    assert isinstance(logger, CSVLogger) and logger.log_dir == str(tmp_path / "run" / "version_3")


def test_tensorboard_logger_is_lightnings_when_tensorboard_is_installed(tmp_path):
    pytest.importorskip("tensorboard")
    from lightning.pytorch.loggers import TensorBoardLogger

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        logger = loggers.TensorBoardLogger(str(tmp_path), name="run")
    assert isinstance(logger, TensorBoardLogger) and logger.log_dir == str(tmp_path / "run" / "version_0")
    assert hasattr(logger.experiment, "add_image")
