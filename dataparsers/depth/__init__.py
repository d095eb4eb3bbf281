"""Depth of the input image, in the project's convention (see `dataparsers.depth.convention`).

`estimate_depth` is the one entry point. Each method is a `DepthEstimator` built by a factory registered in
`DEPTH_ESTIMATORS`; a learned backend (ZoeDepth, Depth Anything, Marigold) plugs in by adding a factory there and
converting its output through `normalize_depth` or `depth_from_disparity`.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal, Protocol

import numpy as np

from dataparsers.depth.convention import SKY_DEPTH, depth_from_disparity, normalize_depth
from dataparsers.depth.from_file import DepthFileKind, DepthFromFile
from dataparsers.depth.prior import LandscapeDepthPrior
from dataparsers.errors import Mom4dInputError
from dataparsers.log import logger

__all__ = [
    "DEPTH_ESTIMATORS",
    "SKY_DEPTH",
    "DepthEstimator",
    "DepthOptions",
    "depth_from_disparity",
    "estimate_depth",
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


def _prior_estimator(options: DepthOptions) -> DepthEstimator:
    return LandscapeDepthPrior()


def _file_estimator(options: DepthOptions) -> DepthEstimator:
    if options.depth_file is None:
        raise Mom4dInputError("Depth method 'file' needs a depth file; pass the path of a .npy, .png or .exr map.")
    return DepthFromFile(Path(options.depth_file), options.depth_file_kind)


DEPTH_ESTIMATORS: dict[str, Callable[[DepthOptions], DepthEstimator]] = {
    "prior": _prior_estimator,
    "file": _file_estimator,
}
"""Depth method name -> factory of its estimator."""


def estimate_depth(
    rgb: np.ndarray,
    sky_mask: np.ndarray,
    method: str = "prior",
    depth_file: Path | None = None,
    depth_file_kind: Literal["depth", "disparity"] = "depth",
) -> np.ndarray:
    """Depth of `rgb` (float32 HxWx3 in [0, 1]) by `method`, given its sky (`sky_mask`, bool HxW, True = sky).

    Methods: "prior" (the weight-free landscape prior) and "file" (the user's map at `depth_file`, holding
    depth or disparity as `depth_file_kind` says). Returns float32 HxW in the project's convention: values in
    [1, SKY_DEPTH], sky pixels exactly SKY_DEPTH.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or sky_mask.shape != rgb.shape[:2] or sky_mask.dtype != bool:
        raise ValueError(f"estimate_depth needs HxWx3 rgb and a bool HxW sky mask, got {rgb.shape}, {sky_mask.shape}")
    if method not in DEPTH_ESTIMATORS:
        raise Mom4dInputError(f"Depth method {method!r} is not known; choose one of: {', '.join(DEPTH_ESTIMATORS)}.")
    if depth_file is not None and method != "file":
        logger.warning(f"The depth file {depth_file} is ignored because the depth method is {method!r}, not 'file'.")
    estimator = DEPTH_ESTIMATORS[method](DepthOptions(depth_file, depth_file_kind))
    depth = estimator.estimate(rgb, sky_mask)
    if depth.shape != sky_mask.shape or not np.isfinite(depth).all():
        raise RuntimeError(f"depth estimator {estimator.name!r} broke the depth convention (shape {depth.shape})")
    depth = np.clip(depth.astype(np.float32), 1.0, SKY_DEPTH)
    depth[sky_mask] = SKY_DEPTH
    logger.info(f"Depth by {estimator.name!r}: median of the non-sky pixels {_median_non_sky(depth, sky_mask):.2f}.")
    return depth


def _median_non_sky(depth: np.ndarray, sky_mask: np.ndarray) -> float:
    return float(np.median(depth[~sky_mask])) if (~sky_mask).any() else SKY_DEPTH
