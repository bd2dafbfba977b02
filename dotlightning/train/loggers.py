"""The GPU configs' logger: TensorBoard when it is installed, else Lightning's CSVLogger in the same folder.

TensorBoard is an optional extra (``pip install 'dotlightning[tensorboard]'``): it shows the loss curves and the
validation samples as rendered graphs (``dotlightning.train.samples``). A GPU run must not die at start because a picture
library is missing (the offline GPU box installs only what its kit carries), and its loss curve must still be
written somewhere, so :class:`TensorBoardLogger` falls back to a ``CSVLogger`` with the same ``save_dir``, ``name``
and ``version`` (same ``<save_dir>/<name>/version_N`` folder, ``metrics.csv`` in it) and says so, with the fix.
A config that wants TensorBoard or nothing names ``lightning.pytorch.loggers.TensorBoardLogger`` directly.
"""

from __future__ import annotations

import warnings
from typing import Any

from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers import TensorBoardLogger as _LightningTensorBoardLogger

__all__ = ["TensorBoardLogger", "tensorboard_available"]


def tensorboard_available() -> bool:
    """Whether Lightning's TensorBoardLogger can write (it takes ``tensorboard`` or ``tensorboardX``)."""
    from lightning.fabric.loggers.tensorboard import _TENSORBOARD_AVAILABLE, _TENSORBOARDX_AVAILABLE

    return bool(_TENSORBOARD_AVAILABLE) or bool(_TENSORBOARDX_AVAILABLE)


class TensorBoardLogger(_LightningTensorBoardLogger):
    """Lightning's ``TensorBoardLogger`` (same arguments); a ``CSVLogger`` with a warning if TensorBoard is missing.

    ``--trainer.logger.init_args.save_dir DIR`` works for both, so scripts need not know which one they got.
    """

    def __new__(
        cls,
        save_dir: str,
        name: str | None = "lightning_logs",
        version: int | str | None = None,
        log_graph: bool = False,
        default_hp_metric: bool = True,
        prefix: str = "",
        sub_dir: str | None = None,
        **kwargs: Any,
    ):
        # The same parameters as Lightning's __init__ (jsonargparse reads this signature too); that __init__ runs
        # only on the TensorBoard branch, since Python skips it when __new__ returns another class's instance.
        if tensorboard_available():
            return super().__new__(cls)
        warnings.warn("dotlightning: tensorboard is not installed, so this run logs to CSV (metrics.csv) in the same "
                      "folder, without images. Fix: pip install 'dotlightning[tensorboard]'", stacklevel=2)
        return CSVLogger(save_dir, name=name, version=version, prefix=prefix)
