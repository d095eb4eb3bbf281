"""Stage 1: the photo's sky and water (`--segmentation`), by the weight-free detectors or a learned model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from mom_nerfstudio.synthesis.config import SynthesisConfig
from mom_nerfstudio.synthesis.image_io import LoadedImage
from mom_nerfstudio.synthesis.learned.loading import ModelSpec, model_fingerprint
from mom_nerfstudio.synthesis.learned_segmentation import LearnedSkyWaterSegmenter, learned_segmentation_model
from mom_nerfstudio.synthesis.segmentation import DoubtfulWater, SkyAndWater, WaterSearch, find_sky_and_water_of

NAME = "segmentation"
OPTIONS = ("max_resolution", "alpha_mode", "segmentation", "segmentation_model")
INPUTS = ("photo", "photo_path", "device")


def active(config: SynthesisConfig) -> bool:
    """Always: the depth and the automatic motion read the sky and the water."""
    return True


def model(config: SynthesisConfig) -> ModelSpec | None:
    """The learned segmentation model of `--segmentation learned`, or None for the weight-free detectors."""
    return learned_segmentation_model(config.segmentation_model) if config.segmentation == "learned" else None


def key_parts(config: SynthesisConfig, image_path: Path) -> dict[str, object]:
    """The learned model, by its fingerprint."""
    spec = model(config)
    return {"model": model_fingerprint(spec) if spec is not None else None}


def compute(
    config: SynthesisConfig, photo: LoadedImage, photo_path: Path, device: torch.device
) -> dict[str, np.ndarray]:
    """The sky and water masks (the calm part of the water too), and the doubtful water regions the detectors left
    out."""
    rgb = photo.rgb
    spec = model(config)
    if spec is not None:
        sky, water = LearnedSkyWaterSegmenter(spec, device).segment(rgb)
        found = SkyAndWater(sky=sky, water=WaterSearch(water=water, doubtful=()))
    else:
        found = find_sky_and_water_of(photo_path, rgb, config.alpha_mode)
    doubtful = found.water.doubtful
    return {
        "sky": found.sky,
        "water": found.water.water,
        "calm_water": found.water.calm_water,
        "doubtful_fraction": np.array([region.fraction for region in doubtful], dtype=np.float32),
        "doubtful_centre": np.array([region.centre for region in doubtful], dtype=np.float32).reshape(-1, 2),
        "doubtful_reason": np.array([region.reason for region in doubtful], dtype=str),
    }


def read(arrays: dict[str, np.ndarray]) -> SkyAndWater:
    """The stage's arrays as the sky and water they hold."""
    doubtful = tuple(
        DoubtfulWater(fraction=float(fraction), centre=(float(x), float(y)), reason=str(reason))
        for fraction, (x, y), reason in zip(
            arrays["doubtful_fraction"], arrays["doubtful_centre"], arrays["doubtful_reason"]
        )
    )
    water = WaterSearch(water=arrays["water"], doubtful=doubtful, calm=arrays["calm_water"])
    return SkyAndWater(sky=arrays["sky"], water=water)
