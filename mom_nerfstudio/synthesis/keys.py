"""The stages' cache keys, computed from the options and the files they name alone, and the dataset they lead to.

A stage's key holds the synthesis code, the photo's bytes, the options the stage reads (files by their content),
its upstream stages' keys and its own further parts. Nothing is decoded, resolved or computed to find a key, so a
complete dataset is found, and read, without building a synthesis (`cached_dataset`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from dataparsers import dataset_format
from dataparsers.dataset_format import SynthesizedDataset
from mom_nerfstudio import loop, ply
from mom_nerfstudio.errors import Mom4dInputError
from mom_nerfstudio.synthesis.cache import default_cache_folder, file_digest, folder_entry, stage_key
from mom_nerfstudio.synthesis.config import SynthesisConfig
from mom_nerfstudio.synthesis.image_io import check_photo_path
from mom_nerfstudio.synthesis.stages import STAGE_BY_NAME, STAGES, upstream

_CODE_OUTSIDE_THE_PACKAGE = (loop, ply, dataset_format)
"""The modules outside the synthesis package that its results depend on: the loop's blend, the point cloud's PLY
writer and the dataset's layout."""


def _source_digest() -> str:
    """A digest of the code that makes the stages' results: a new version of it never reuses an older result."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent
    sources = [*sorted(package.rglob("*.py")), *(Path(module.__file__) for module in _CODE_OUTSIDE_THE_PACKAGE)]
    for path in sources:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


SOURCE_DIGEST = _source_digest()

DATASET_STAGE = STAGES[-1].NAME
"""The stage whose result is the dataset folder."""


def _option_value(value: object) -> object:
    """An option as its stage's key holds it: a file by the digest of its content, anything else as it is."""
    if isinstance(value, Path):
        return file_digest(value) if value.is_file() else str(value)
    return value


class StageKeys:
    """The cache key of every stage for one photo and its options."""

    def __init__(self, image_path: Path, config: SynthesisConfig) -> None:
        self.image_path = Path(image_path)
        self.config = config
        self._keys: dict[str, str | None] = {}
        self._image_digest: str | None = None

    def image_digest(self) -> str:
        """sha256 of the photo's bytes; Mom4dInputError when there is no such file."""
        if self._image_digest is None:
            check_photo_path(self.image_path)
            self._image_digest = file_digest(self.image_path)
        return self._image_digest

    def key(self, name: str) -> str | None:
        """The cache key of stage `name` (None when the stage is inactive with these options)."""
        if name not in self._keys:
            stage = STAGE_BY_NAME[name]
            if not stage.active(self.config):
                self._keys[name] = None
            else:
                options = {option: _option_value(getattr(self.config, option)) for option in stage.OPTIONS}
                upstream_keys = {needed: self.key(needed) for needed in upstream(stage)}
                parts = {"code": SOURCE_DIGEST, "image": self.image_digest(), **options, **upstream_keys}
                self._keys[name] = stage_key(name, {**parts, **stage.key_parts(self.config, self.image_path)})
        return self._keys[name]


def cache_folder(image_path: Path, config: SynthesisConfig) -> Path:
    """The cache folder of a photo's synthesis: `--cache-dir`, or `mom4d_cache` beside the photo."""
    return config.cache_dir or default_cache_folder(image_path)


def cached_dataset(image_path: Path, config: SynthesisConfig) -> SynthesizedDataset:
    """The dataset of `image_path` with `config` when the cache holds it complete (and `--force` does not ask for it
    again); Mom4dInputError saying how to make it otherwise."""
    cache = cache_folder(image_path, config)
    folder = folder_entry(cache, DATASET_STAGE, StageKeys(image_path, config).key(DATASET_STAGE))
    if config.force or not folder.exists():
        raise Mom4dInputError(
            f"{image_path} has not been synthesised with these options yet (nothing in {cache}): run "
            f"`mom4d-synthesize {image_path}` with the same options, or `ns-train mom4d --data {image_path}`, which "
            "synthesises it first."
        )
    return SynthesizedDataset.read(folder)
