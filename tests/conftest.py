"""Shared fixtures: a tiny synthetic landscape photo with its labelme motion annotation, and small options."""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from mom_nerfstudio.synthesis.config import SynthesisConfig

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""The repository's root folder (the tests lie in folders arranged like the packages they test)."""
EXAMPLE_PHOTO = PROJECT_ROOT / "examples" / "forest_stream.jpg"
"""The photo the README's commands use."""


@dataclass(frozen=True)
class TinyLandscape:
    """A 96 x 64 landscape: a sky gradient, textured grass, and striped water that its annotation moves right."""

    width: int = 96
    height: int = 64
    horizon_row: int = 24
    """Rows above this are sky."""
    water_top_row: int = 40
    """Rows from this one down are water, the region the annotation makes move."""
    hint_speed: float = 1.0
    """Speed of the water to the right, px/frame: arrows of 50 px, at the default of 50 frames per arrow."""

    def rgb(self) -> np.ndarray:
        """The photo as float32 HxWx3 in [0, 1] (before its 8-bit encoding)."""
        rows = np.arange(self.height, dtype=np.float32)[:, None, None]
        cols = np.arange(self.width, dtype=np.float32)[None, :, None]
        shape = (self.height, self.width, 3)
        sky = np.array([0.45, 0.65, 0.95], np.float32) * (1.0 - 0.3 * rows / self.horizon_row)
        grass = np.array([0.25, 0.5, 0.15]) + np.random.default_rng(0).normal(0.0, 0.06, (self.height, self.width, 1))
        stripes = 0.5 + 0.4 * np.sin(0.7 * cols + 0.9 * rows)  # every column differs, so that motion shows
        water = np.concatenate([0.1 + 0.2 * stripes, 0.3 + 0.2 * stripes, 0.6 + 0.3 * stripes], axis=-1)
        image = np.empty(shape, np.float32)
        image[: self.horizon_row] = np.broadcast_to(sky, shape)[: self.horizon_row]
        image[self.horizon_row : self.water_top_row] = grass[self.horizon_row : self.water_top_row]
        image[self.water_top_row :] = np.broadcast_to(water, shape)[self.water_top_row :]
        return np.clip(image, 0.0, 1.0)

    def write(self, folder: Path, name: str = "photo.png", annotate: bool = True) -> Path:
        """Write the photo as a PNG into `folder`, with its labelme annotation beside it when `annotate`."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        pixels = np.rint(self.rgb() * 255.0).astype(np.uint8)
        cv2.imwrite(str(path), cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR))
        if annotate:
            top, width, height = self.water_top_row, self.width, self.height
            arrow = 50.0 * self.hint_speed
            water = [[0, top], [width, top], [width, height], [0, height]]
            shapes = [
                {"label": "motion", "points": water, "shape_type": "polygon"},
                {"label": "hint", "points": [[20, 50], [20 + arrow, 50]], "shape_type": "line"},
                {"label": "hint", "points": [[40, 58], [40 + arrow, 58]], "shape_type": "line"},
            ]
            document = {"version": "5.2.1", "shapes": shapes, "imageWidth": width, "imageHeight": height}
            path.with_suffix(".json").write_text(json.dumps(document))
        return path

    def config(self, cache_dir: Path, **overrides) -> SynthesisConfig:
        """Synthesis options small enough for tests: the photo's own size, a 4-frame loop, the CPU."""
        options = {"max_resolution": self.width, "num_frames": 4, "cache_dir": cache_dir, "device": "cpu"}
        return SynthesisConfig(**{**options, **overrides})


@pytest.fixture(scope="session")
def landscape() -> TinyLandscape:
    """The tiny landscape: its geometry, its pixels, and how to write it and configure its synthesis."""
    return TinyLandscape()


@pytest.fixture
def landscape_photo(landscape: TinyLandscape, tmp_path: Path) -> Path:
    """The tiny landscape photo with its labelme annotation, in a fresh folder."""
    return landscape.write(tmp_path / "photo")


@pytest.fixture
def offline_models(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test may reach the network, and each starts and ends with no learned model loaded."""
    from mom_nerfstudio.synthesis.learned.loading import release_models

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    release_models()
    yield
    release_models()


@pytest.fixture(autouse=True, scope="session")
def single_threaded_torch() -> Iterator[None]:
    """Run torch on one thread: the tests' tensors are tiny, and on a busy CPU a thread pool costs far more
    than it gains (a 96 x 64 synthesis takes about 1 s on one thread and over 20 s on two contended ones)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
