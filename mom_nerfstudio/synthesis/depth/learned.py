"""Learned monocular depth: ZoeDepth and Depth Anything V2 through transformers, Marigold through diffusers.

What each model predicts, and how it becomes depth in the project's convention (see `convention.py`):
- ZoeDepth: metric z-depth in metres. Monocular scale is not trusted: `normalize_depth` divides by the scene's
  1st percentile, so the nearest scene depth is 1.
- Depth Anything V2: relative disparity, known up to a scale and a shift. It is read with a zero shift
  (depth = 1 / disparity, `depth_from_disparity`), so what it puts at a disparity near zero (the sky, the far
  distance) lands at SKY_DEPTH. Its metric checkpoints (config
  `depth_estimation_type: "metric"`) predict metric depth and are read like ZoeDepth.
- Marigold: affine-invariant depth in [0, 1] (0 near, 1 its far plane); `depth_from_affine_depth` puts the
  scene's near end at 1 and the far plane at SKY_DEPTH. A Marigold checkpoint that declares disparity, or depth
  that is only scale-invariant, is read as such.
Whatever the model says, the sky mask wins: sky pixels are set to SKY_DEPTH and take no part in fixing the
scale, so a model that puts the sky near can neither bring it near nor push the scene away.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from mom_nerfstudio.synthesis.depth.convention import (
    depth_from_affine_depth,
    depth_from_disparity,
    normalize_depth,
)
from mom_nerfstudio.synthesis.image_io import to_uint8
from mom_nerfstudio.synthesis.learned.loading import (
    Library,
    ModelSource,
    ModelSpec,
    diffusers_loading_options,
    gpu_memory_guard,
    load_model,
    transformers_loader,
)

PredictionKind = Literal["depth", "disparity", "affine_depth"]
"""What a model's raw map holds: z-depth up to scale, disparity up to scale (zero shift), or affine-invariant depth."""

MARIGOLD_SEED = 0
"""Seed of Marigold's initial noise, so that its depth (and every stage after it) is reproducible."""

_SMALL_DEPTH_MODEL = "depth-anything/Depth-Anything-V2-Small-hf"


@dataclass(frozen=True)
class LearnedDepthBackend:
    """A `--depth` method backed by a learned model."""

    method: str
    default_model: str
    library: Library
    kinds: tuple[str, ...]
    """Accepted transformers `model_type`s or diffusers pipeline classes."""
    description: str
    gpu_dtype: torch.dtype = torch.float16

    def spec(self, model: str | None = None) -> ModelSpec:
        """The model to use: `model` (hub id or folder), or this backend's default."""
        lighter = (
            f"the small model {_SMALL_DEPTH_MODEL}"
            if self.method == "depth-anything"
            else f"--depth depth-anything (the default {_SMALL_DEPTH_MODEL} has 25M parameters)"
        )
        return ModelSpec(
            reference=model or self.default_model,
            library=self.library,
            kinds=self.kinds,
            description=self.description,
            option="--depth-model",
            example=self.default_model,
            alternative="--depth prior",
            lighter=lighter,
            gpu_dtype=self.gpu_dtype,
        )


LEARNED_DEPTH_BACKENDS: dict[str, LearnedDepthBackend] = {
    # ZoeDepth's relative-depth stage can output values beyond float16's range (inf, then NaN): it runs in bfloat16.
    "zoedepth": LearnedDepthBackend(
        "zoedepth", "Intel/zoedepth-nyu-kitti", "transformers", ("zoedepth",), "ZoeDepth depth model", torch.bfloat16
    ),
    "depth-anything": LearnedDepthBackend(
        "depth-anything", _SMALL_DEPTH_MODEL, "transformers", ("depth_anything",), "Depth Anything depth model"
    ),
    "marigold": LearnedDepthBackend(
        "marigold", "prs-eth/marigold-depth-v1-1", "diffusers", ("MarigoldDepthPipeline",), "Marigold depth pipeline"
    ),
}
"""Learned `--depth` methods by name."""


def depth_from_prediction(prediction: np.ndarray, kind: PredictionKind, sky_mask: np.ndarray) -> np.ndarray:
    """A model's raw map (HxW) of `kind` as depth in the project's convention, sky (`sky_mask`) at SKY_DEPTH."""
    if kind == "depth":
        return normalize_depth(prediction, sky_mask)
    if kind == "disparity":
        return depth_from_disparity(prediction, sky_mask)
    if kind == "affine_depth":
        return depth_from_affine_depth(prediction, sky_mask)
    raise ValueError(f"unknown prediction kind {kind!r}")


_load_transformers_depth = transformers_loader("AutoModelForDepthEstimation")


def _load_marigold(source: ModelSource) -> Any:
    from diffusers import MarigoldDepthPipeline

    pipeline = MarigoldDepthPipeline.from_pretrained(source.path_or_id, **diffusers_loading_options(source))
    pipeline.set_progress_bar_config(disable=True)
    return pipeline.to(source.device)


@dataclass(frozen=True)
class TransformersDepthEstimator:
    """ZoeDepth or Depth Anything through transformers' depth-estimation models and their image processors."""

    name: str
    model: ModelSpec
    device: torch.device

    def estimate(self, rgb: np.ndarray, sky_mask: np.ndarray) -> np.ndarray:
        """Depth (float32 HxW, project convention) of `rgb` (float32 HxWx3 in [0, 1]) with sky `sky_mask`."""
        return depth_from_prediction(*self.predict(rgb), sky_mask)

    def predict(self, rgb: np.ndarray) -> tuple[np.ndarray, PredictionKind]:
        """The model's raw map at the size of `rgb` (float32 HxW), and what it holds."""
        loaded = load_model(self.model, self.device, _load_transformers_depth)
        height, width = rgb.shape[:2]
        inputs = loaded.processor(images=to_uint8(rgb), return_tensors="pt")
        pixel_values = inputs["pixel_values"].to(self.device, loaded.model.dtype)
        with torch.inference_mode(), gpu_memory_guard(self.model, f"estimating depth at {width}x{height}"):
            outputs = loaded.model(pixel_values=pixel_values)
            outputs["predicted_depth"] = outputs["predicted_depth"].float()
            sizes: dict[str, list[tuple[int, int]]] = {"target_sizes": [(height, width)]}
            if loaded.model.config.model_type == "zoedepth":
                sizes["source_sizes"] = [(height, width)]  # ZoeDepth's processor pads; the size lets it crop back
            processed = loaded.processor.post_process_depth_estimation(outputs, **sizes)
        prediction = processed[0]["predicted_depth"].float().cpu().numpy()
        return prediction, _transformers_prediction_kind(loaded.model.config)


def _transformers_prediction_kind(config: Any) -> PredictionKind:
    if config.model_type == "depth_anything" and getattr(config, "depth_estimation_type", "relative") != "metric":
        return "disparity"
    return "depth"


@dataclass(frozen=True)
class MarigoldDepthEstimator:
    """Marigold through diffusers' `MarigoldDepthPipeline`, with the checkpoint's own steps and resolution."""

    model: ModelSpec
    device: torch.device
    name: str = "marigold"

    def estimate(self, rgb: np.ndarray, sky_mask: np.ndarray) -> np.ndarray:
        """Depth (float32 HxW, project convention) of `rgb` (float32 HxWx3 in [0, 1]) with sky `sky_mask`."""
        return depth_from_prediction(*self.predict(rgb), sky_mask)

    def predict(self, rgb: np.ndarray) -> tuple[np.ndarray, PredictionKind]:
        """The pipeline's raw map at the size of `rgb` (float32 HxW), and what it holds."""
        pipeline = load_model(self.model, self.device, _load_marigold)
        height, width = rgb.shape[:2]
        generator = torch.Generator().manual_seed(MARIGOLD_SEED)
        with torch.inference_mode(), gpu_memory_guard(self.model, f"estimating depth at {width}x{height}"):
            output = pipeline(rgb[None].astype(np.float32), generator=generator, output_type="np")
        prediction = np.asarray(output.prediction, dtype=np.float32).reshape(height, width)
        return prediction, _marigold_prediction_kind(pipeline.config)


def _marigold_prediction_kind(config: Any) -> PredictionKind:
    if config.get("prediction_type") == "disparity":
        return "disparity"
    return "affine_depth" if config.get("shift_invariant", True) else "depth"
