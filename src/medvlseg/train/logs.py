"""Per-epoch CSV log of a run (`RUN/log.csv`, one row per epoch, a file people can plot)."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from pathlib import Path

from medvlseg.utils.atomic import write_text

BASE_COLUMNS = ("epoch", "step", "loss", "lr", "val_dice_mean")
TAIL_COLUMNS = ("epoch_s", "data_wait_s_per_step", "steps_per_s")


def slug(name: str) -> str:
    """Column-safe class name: 'left pulmonary artery' → 'left_pulmonary_artery'."""
    return "_".join(name.lower().split())


class EpochLog:
    """CSV with the columns BASE + val_dice_<class> + TAIL; rewritten atomically after each epoch."""

    def __init__(self, path: Path, classes: Sequence[str]) -> None:
        self.path = path
        self.columns = list(BASE_COLUMNS) + [f"val_dice_{slug(c)}" for c in classes] + list(TAIL_COLUMNS)

    def rows(self) -> list[dict[str, str]]:
        """Rows written so far (empty when the file does not exist)."""
        if not self.path.is_file():
            return []
        return list(csv.DictReader(io.StringIO(self.path.read_text(encoding="utf-8"))))

    def write(self, rows: Sequence[dict]) -> None:
        """Replace the file with `rows` (missing values written empty)."""
        buf = io.StringIO()
        writer = csv.DictWriter(buf, self.columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _fmt(row.get(k)) for k in self.columns})
        write_text(self.path, buf.getvalue())

    def append(self, row: dict) -> None:
        """Add one epoch's row, dropping rows of that epoch or later (a resumed run rewrites them)."""
        kept = [r for r in self.rows() if int(r["epoch"]) < int(row["epoch"])]
        self.write(kept + [row])


def _fmt(value: object) -> str:
    """CSV cell: floats with 6 significant digits, NaN/None empty."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def require_tensorboard() -> None:
    """ConfigError unless the optional `tensorboard` package is importable."""
    from medvlseg.errors import ConfigError

    try:
        import tensorboard  # noqa: F401
    except ImportError as exc:
        raise ConfigError("tensorboard: true needs the `tensorboard` package (pip install "
                          "'medvlseg[tensorboard]'); the CSV log RUN/log.csv is always written") from exc


class TensorBoardLog:
    """Optional TensorBoard scalars (`RUN/tensorboard/`), one point per epoch for every numeric log column."""

    def __init__(self, run_dir: Path) -> None:
        require_tensorboard()
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(run_dir / "tensorboard"))

    def add(self, row: dict) -> None:
        """Write the row's numeric values at its epoch."""
        for key, value in row.items():
            if key != "epoch" and isinstance(value, (int, float)) and not math.isnan(float(value)):
                self.writer.add_scalar(key.replace("val_dice_", "val_dice/"), float(value), int(row["epoch"]))
        self.writer.flush()

    def close(self) -> None:
        """Flush and close the event file."""
        self.writer.close()
