"""Stage 1: the photo's sky and water (`--segmentation`), by the weight-free detectors or a learned model."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from mom_nerfstudio.synthesis.learned.loading import model_fingerprint
from mom_nerfstudio.synthesis.learned_segmentation import LearnedSkyWaterSegmenter
from mom_nerfstudio.synthesis.segmentation import DoubtfulWater, SkyAndWater, WaterSearch, find_sky_and_water_of

if TYPE_CHECKING:
    from mom_nerfstudio.synthesis.runner import SceneSynthesis

NAME = "segmentation"
OPTIONS = ("max_resolution", "alpha_mode", "segmentation", "segmentation_model")
NEEDS: tuple[str, ...] = ()


def active(synthesis: SceneSynthesis) -> bool:
    """Always: the depth and the automatic motion read the sky and the water."""
    return True


def key_parts(synthesis: SceneSynthesis) -> dict[str, object]:
    """The learned model, by its fingerprint."""
    model = synthesis.segmentation_model
    return {"model": model_fingerprint(model) if model is not None else None}


def compute(synthesis: SceneSynthesis) -> dict[str, np.ndarray]:
    """The sky and water masks (the calm part of the water too), and the doubtful water regions the detectors left
    out."""
    rgb = synthesis.image.rgb
    if synthesis.segmentation_model is not None:
        sky, water = LearnedSkyWaterSegmenter(synthesis.segmentation_model, synthesis.device).segment(rgb)
        found = SkyAndWater(sky=sky, water=WaterSearch(water=water, doubtful=()))
    else:
        found = find_sky_and_water_of(synthesis.image_path, rgb, synthesis.config.alpha_mode)
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
