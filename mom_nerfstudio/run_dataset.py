"""A training run's own copy of its dataset, so that every command after training reads what the run trained on."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from dataparsers.dataset_format import SynthesizedDataset
from mom_nerfstudio.atomic import atomic_folder


def link_dataset(source: Path, destination: Path) -> SynthesizedDataset:
    """Give `destination` its own copy of the dataset in `source`: hard links where both lie on one file system (no
    extra space, and the copy outlives the source), copies elsewhere. Atomic: a failure leaves nothing."""
    source = Path(source)
    with atomic_folder(Path(destination)) as temporary:
        for path in sorted(source.rglob("*")):
            target = temporary / path.relative_to(source)
            if path.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(path, target)
            except OSError:
                shutil.copy2(path, target)
    return SynthesizedDataset.read(destination)
