"""Depth of the input image, in the project's convention (see `mom_nerfstudio.synthesis.depth.convention`).

`estimate_depth` is the one entry point. Each method is a `DepthEstimator` built by a factory registered in
`DEPTH_ESTIMATORS`: the weight-free landscape prior, the user's depth file, and the learned models of
`mom_nerfstudio.synthesis.depth.learned` (ZoeDepth, Depth Anything V2, Marigold), whose outputs are converted through
`normalize_depth`, `depth_from_disparity` or `depth_from_affine_depth`.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import torch

from mom_nerfstudio.errors import Mom4dInputError
from mom_nerfstudio.log import logger
from mom_nerfstudio.synthesis.depth.convention import (
    SKY_DEPTH,
    depth_from_affine_depth,
    depth_from_disparity,
    normalize_depth,
)
from mom_nerfstudio.synthesis.depth.from_file import DepthFileKind, DepthFromFile
from mom_nerfstudio.synthesis.depth.learned import (
    LEARNED_DEPTH_BACKENDS,
    MarigoldDepthEstimator,
    TransformersDepthEstimator,
)
from mom_nerfstudio.synthesis.depth.prior import LandscapeDepthPrior
from mom_nerfstudio.synthesis.learned.loading import ModelSpec

__all__ = [
    "DEPTH_ESTIMATORS",
    "SKY_DEPTH",
    "DepthEstimator",
    "DepthOptions",
    "depth_from_affine_depth",
    "depth_from_disparity",
    "estimate_depth",
    "learned_depth_model",
    "normalize_depth",
]


class DepthEstimator(Protocol):
    """Anything that turns an image into depth in the project's convention."""

    name: str

    def estimate(self, rgb: np.ndarray, sky_mask: np.ndarray) -> np.ndarray:
        """Depth (float32 HxW in [1, SKY_DEPTH], sky at SKY_DEPTH) of `rgb` (float32 HxWx3 in [0, 1])."""
        ...


@dataclass(frozen=True)
class DepthOptions:
    """What the user chose about depth; each factory takes the fields it needs."""

    depth_file: Path | None = None
    depth_file_kind: DepthFileKind = "depth"
    model: str | None = None
    """Hub id or folder of a learned method's model; None for the method's default."""
    device: torch.device = torch.device("cpu")
    """Where a learned model runs."""
    photo_size: tuple[int, int] | None = None
    """(height, width) of the photo file, for messages about a depth file; default: the working image's size."""


def _prior_estimator(options: DepthOptions) -> DepthEstimator:
    return LandscapeDepthPrior()


def _file_estimator(options: DepthOptions) -> DepthEstimator:
    if options.depth_file is None:
        raise Mom4dInputError("--depth file needs a map: pass --depth-file with the path of a .npy, .png or .exr map.")
    return DepthFromFile(Path(options.depth_file), options.depth_file_kind, options.photo_size)


def _zoedepth_estimator(options: DepthOptions) -> DepthEstimator:
    return TransformersDepthEstimator(
        "zoedepth", LEARNED_DEPTH_BACKENDS["zoedepth"].spec(options.model), options.device
    )


def _depth_anything_estimator(options: DepthOptions) -> DepthEstimator:
    model = LEARNED_DEPTH_BACKENDS["depth-anything"].spec(options.model)
    return TransformersDepthEstimator("depth-anything", model, options.device)


def _marigold_estimator(options: DepthOptions) -> DepthEstimator:
    return MarigoldDepthEstimator(LEARNED_DEPTH_BACKENDS["marigold"].spec(options.model), options.device)


DEPTH_ESTIMATORS: dict[str, Callable[[DepthOptions], DepthEstimator]] = {
    "prior": _prior_estimator,
    "file": _file_estimator,
    "zoedepth": _zoedepth_estimator,
    "depth-anything": _depth_anything_estimator,
    "marigold": _marigold_estimator,
}
"""Depth method name -> factory of its estimator."""


def learned_depth_model(method: str, model: str | None = None) -> ModelSpec | None:
    """The model a learned depth `method` would load (`model`, or the method's default); None for other methods."""
    backend = LEARNED_DEPTH_BACKENDS.get(method)
    return backend.spec(model) if backend is not None else None


def estimate_depth(
    rgb: np.ndarray,
    sky_mask: np.ndarray,
    method: str = "prior",
    depth_file: Path | None = None,
    depth_file_kind: Literal["depth", "disparity"] = "depth",
    model: str | None = None,
    device: torch.device | str = "cpu",
    photo_size: tuple[int, int] | None = None,
) -> np.ndarray:
    """Depth of `rgb` (float32 HxWx3 in [0, 1]) by `method`, given its sky (`sky_mask`, bool HxW, True = sky).

    Methods: "prior" (the weight-free landscape prior), "file" (the user's map at `depth_file`, holding depth or
    disparity as `depth_file_kind` says), and the learned "zoedepth", "depth-anything" and "marigold", which load
    `model` (a hub id or folder; None for the method's default) onto `device`. `photo_size` (height, width of
    the photo file) is only for messages. Returns float32 HxW in the
    project's convention: values in [1, SKY_DEPTH], sky pixels exactly SKY_DEPTH.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or sky_mask.shape != rgb.shape[:2] or sky_mask.dtype != bool:
        raise ValueError(f"estimate_depth needs HxWx3 rgb and a bool HxW sky mask, got {rgb.shape}, {sky_mask.shape}")
    if method not in DEPTH_ESTIMATORS:
        raise Mom4dInputError(f"--depth {method!r} is not known; choose one of: {', '.join(DEPTH_ESTIMATORS)}.")
    if depth_file is not None and method != "file":
        logger.warning(f"--depth-file {depth_file} is ignored because --depth is {method!r}, not 'file'.")
    if model is not None and method not in LEARNED_DEPTH_BACKENDS:
        logger.warning(f"--depth-model {model} is ignored because --depth {method!r} uses no model.")
    options = DepthOptions(depth_file, depth_file_kind, model, torch.device(device), photo_size)
    estimator = DEPTH_ESTIMATORS[method](options)
    depth = estimator.estimate(rgb, sky_mask)
    if depth.shape != sky_mask.shape or not np.isfinite(depth).all():
        raise RuntimeError(f"depth estimator {estimator.name!r} broke the depth convention (shape {depth.shape})")
    depth = np.clip(depth.astype(np.float32), 1.0, SKY_DEPTH)
    depth[sky_mask] = SKY_DEPTH
    logger.info(f"Depth by {estimator.name!r}: median of the non-sky pixels {_median_non_sky(depth, sky_mask):.2f}.")
    return depth


def _median_non_sky(depth: np.ndarray, sky_mask: np.ndarray) -> float:
    return float(np.median(depth[~sky_mask])) if (~sky_mask).any() else SKY_DEPTH
