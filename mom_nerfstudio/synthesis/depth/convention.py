"""The depth convention of the whole project, and conversions into it.

A depth map is a float32 HxW array of z-depth: the distance along the camera's optical axis, not along the
pixel's ray. Monocular depth has no absolute scale, so the scale is fixed by the scene itself: the 1st
percentile of the non-sky depths is exactly 1.0, which puts the nearest scene points at about 1 (the unit the
test camera paths of the method are written in). The sky sits at `SKY_DEPTH`, far behind everything else, and
every depth lies in [1, SKY_DEPTH]: there are no zeros, infinities or NaNs. SKY_DEPTH belongs to the dataset
format (`dataparsers.dataset_format`, which says why it is 50), whose world is measured in this convention.
"""

import numpy as np

from dataparsers.dataset_format import SKY_DEPTH
from mom_nerfstudio.log import logger

NEAR_PERCENTILE = 1.0
"""The percentile of the non-sky depths that normalisation maps to depth 1."""


def normalize_depth(depth: np.ndarray, sky_mask: np.ndarray | None = None) -> np.ndarray:
    """Bring a z-depth map of any scale into the project's convention.

    Divides by the 1st percentile of the valid non-sky depths (so that percentile becomes exactly 1.0), clips
    to [1, SKY_DEPTH] (with a warning that counts the pixels cut at SKY_DEPTH) and sets sky pixels (`sky_mask`
    True) to SKY_DEPTH. Pixels with no usable depth (zero, negative, NaN) and infinite depths are far: they get
    SKY_DEPTH too. Returns float32 HxW.
    """
    depth = np.asarray(depth, dtype=np.float64)
    _check_map(depth, sky_mask)
    far = _far_pixels(np.isfinite(depth) & (depth > 0), sky_mask)
    if far.all():
        return _all_at_sky_depth(depth.shape)
    normalized = np.full(depth.shape, SKY_DEPTH, dtype=np.float64)
    # "lower" picks an actual sample, so after division that sample is exactly 1.0 and survives the clip.
    near = np.percentile(depth[~far], NEAR_PERCENTILE, method="lower")
    relative = depth[~far] / near
    _warn_about_clipped_far_depths(relative, depth.size)
    normalized[~far] = np.clip(relative, 1.0, SKY_DEPTH)
    return normalized.astype(np.float32)


def depth_from_disparity(disparity: np.ndarray, sky_mask: np.ndarray | None = None) -> np.ndarray:
    """Convert a disparity map (inverse depth, up to scale) into depth in the project's convention.

    Affine-invariant disparity (Depth Anything, DPT, MiDaS) is taken with a zero shift: depth = 1 / disparity,
    then normalised by `normalize_depth`. Zero, negative and non-finite disparities are infinitely far and end
    at SKY_DEPTH, as do sky pixels. Returns float32 HxW.
    """
    disparity = np.asarray(disparity, dtype=np.float64)
    _check_map(disparity, sky_mask)
    valid = np.isfinite(disparity) & (disparity > 0)
    depth = np.full(disparity.shape, np.inf)
    depth[valid] = 1.0 / disparity[valid]
    return normalize_depth(depth, sky_mask)


def depth_from_affine_depth(affine_depth: np.ndarray, sky_mask: np.ndarray | None = None) -> np.ndarray:
    """Convert affine-invariant depth (Marigold: 0 at the scene's near end, 1 at the model's far plane) into depth
    in the project's convention.

    Such depth is known up to a scale and a shift, so two anchors fix both: the 1st percentile `a_near` of the
    valid non-sky values becomes depth 1 (as in `normalize_depth`) and the model's far plane, 1.0, becomes
    SKY_DEPTH, linearly in between: depth = 1 + (SKY_DEPTH - 1) (a - a_near) / (1 - a_near), clipped to
    [1, SKY_DEPTH]. Non-finite values and sky pixels end at SKY_DEPTH. Returns float32 HxW.
    """
    values = np.asarray(affine_depth, dtype=np.float64)
    _check_map(values, sky_mask)
    far = _far_pixels(np.isfinite(values), sky_mask)
    if far.all():
        return _all_at_sky_depth(values.shape)
    depth = np.full(values.shape, SKY_DEPTH, dtype=np.float64)
    near = np.percentile(values[~far], NEAR_PERCENTILE, method="lower")
    span = max(1.0 - near, 1e-6)
    depth[~far] = np.clip(1.0 + (SKY_DEPTH - 1.0) * (values[~far] - near) / span, 1.0, SKY_DEPTH)
    return depth.astype(np.float32)


def _far_pixels(usable: np.ndarray, sky_mask: np.ndarray | None) -> np.ndarray:
    """Pixels that end at SKY_DEPTH: those without a `usable` value, and the sky."""
    return ~usable if sky_mask is None else ~usable | sky_mask


def _all_at_sky_depth(shape: tuple[int, ...]) -> np.ndarray:
    """A depth map (float32) with every pixel at SKY_DEPTH, for a map without one usable non-sky value."""
    logger.warning("The depth map has no valid non-sky pixel; every pixel is placed at the sky depth.")
    return np.full(shape, SKY_DEPTH, dtype=np.float32)


def _warn_about_clipped_far_depths(relative: np.ndarray, total: int) -> None:
    """Warn when non-sky depths (relative to the nearest) lie beyond SKY_DEPTH, where they are cut."""
    clipped = int(np.count_nonzero(relative > SKY_DEPTH))
    if clipped:
        logger.warning(
            f"The depth map spans more than {SKY_DEPTH:g} times its nearest depth: {clipped} of {total} pixels "
            f"({clipped / total:.2%}) lie farther and were clipped to the sky depth ({SKY_DEPTH:g})."
        )


def _check_map(values: np.ndarray, sky_mask: np.ndarray | None) -> None:
    if values.ndim != 2:
        raise ValueError(f"a depth or disparity map must be HxW, got shape {values.shape}")
    if sky_mask is not None and (sky_mask.shape != values.shape or sky_mask.dtype != bool):
        raise ValueError(f"sky_mask must be bool of shape {values.shape}, got {sky_mask.dtype} {sky_mask.shape}")
