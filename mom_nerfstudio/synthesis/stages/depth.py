"""Stage 2: the depth of the photo (`--depth`), with the sky it was estimated against."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from mom_nerfstudio.synthesis.config import SynthesisConfig
from mom_nerfstudio.synthesis.depth import estimate_depth, learned_depth_model
from mom_nerfstudio.synthesis.image_io import LoadedImage
from mom_nerfstudio.synthesis.learned.loading import ModelSpec, model_fingerprint
from mom_nerfstudio.synthesis.segmentation import SkyAndWater

NAME = "depth"
OPTIONS = ("max_resolution", "alpha_mode", "depth", "depth_model", "depth_file", "depth_file_kind")
INPUTS = ("photo", "device", "sky_and_water")


def active(config: SynthesisConfig) -> bool:
    """Always: every later stage stands on the depth."""
    return True


def model(config: SynthesisConfig) -> ModelSpec | None:
    """The learned depth model of `--depth`, or None for the weight-free methods."""
    return learned_depth_model(config.depth, config.depth_model)


def key_parts(config: SynthesisConfig, image_path: Path) -> dict[str, object]:
    """The learned model, by its fingerprint."""
    spec = model(config)
    return {"model": model_fingerprint(spec) if spec is not None else None}


def compute(
    config: SynthesisConfig, photo: LoadedImage, device: torch.device, sky_and_water: SkyAndWater
) -> dict[str, np.ndarray]:
    """The depth (HxW, the project's convention) and the sky mask (bool HxW)."""
    sky = sky_and_water.sky
    depth = estimate_depth(
        photo.rgb,
        sky,
        method=config.depth,
        depth_file=config.depth_file,
        depth_file_kind=config.depth_file_kind,
        model=config.depth_model,
        device=device,
        photo_size=photo.original_size,
    )
    return {"depth": depth.astype(np.float32), "sky": sky}
