"""Filling the holes a novel view leaves where no point of the cloud landed, one image at a time.

Methods: 'reflect' (the default: a smooth colour base plus the seen texture mirrored into the hole, see
`mom_nerfstudio.synthesis.reflect_fill`), 'telea' (OpenCV's Telea fast-marching inpainting, which smears the edge colours along
straight lines) and 'none' (holes stay holes). Filled pixels are returned as a separate mask, so that training
can weight them down: they are guesses. Stable Diffusion inpainting (`--inpaint sd`) works on the scene rather
than on single images: see `mom_nerfstudio.synthesis.scene_growth` and `mom_nerfstudio.synthesis.diffusion_inpaint`.
"""

from __future__ import annotations

from typing import Literal, get_args

import cv2
import numpy as np

from mom_nerfstudio.synthesis.image_io import to_uint8
from mom_nerfstudio.synthesis.reflect_fill import reflect_fill

InpaintMethod = Literal["reflect", "telea", "none"]
INPAINT_METHODS: tuple[str, ...] = get_args(InpaintMethod)

# OpenCV's inpainting costs grow with the hole's area; large holes are filled at a reduced size and the
# result upsampled, which is indistinguishable for the smooth colours it produces there.
_MAX_FILL_PIXELS = 160_000


def fill_holes(
    rgb: np.ndarray, holes: np.ndarray, method: InpaintMethod = "reflect", radius: int = 5
) -> tuple[np.ndarray, np.ndarray]:
    """Fill `holes` (bool HxW) in `rgb` (float HxWx3 in [0, 1]); returns (filled rgb, mask of filled pixels).

    `radius` is Telea's neighbourhood in pixels. With `method="none"` the image is returned unchanged and nothing
    is marked as filled: the holes stay holes, and downstream code must keep excluding them. A view with no seen
    pixel at all is left as it is too (there is nothing to fill from).
    """
    if method not in INPAINT_METHODS:
        raise ValueError(f"unknown inpainting method {method!r}; choose one of {INPAINT_METHODS}")
    if method == "none" or not holes.any() or holes.all():
        return rgb, np.zeros_like(holes)
    if method == "reflect":
        return reflect_fill(rgb, holes), holes.copy()
    return opencv_fill(rgb, holes, cv2.INPAINT_TELEA, radius), holes.copy()


def opencv_fill(rgb: np.ndarray, holes: np.ndarray, algorithm: int = cv2.INPAINT_TELEA, radius: int = 5) -> np.ndarray:
    """`rgb` with `holes` filled by OpenCV's `cv2.inpaint` (`algorithm`: cv2.INPAINT_TELEA or cv2.INPAINT_NS), at a
    reduced size for large images."""
    height, width = holes.shape
    image8 = to_uint8(rgb)
    mask8 = holes.astype(np.uint8) * 255
    factor = max(1.0, float(np.sqrt(height * width / _MAX_FILL_PIXELS)))
    if factor > 1.0:
        small_size = (max(1, round(width / factor)), max(1, round(height / factor)))
        small_image = cv2.resize(image8, small_size, interpolation=cv2.INTER_AREA)
        small_mask = cv2.resize(mask8, small_size, interpolation=cv2.INTER_NEAREST)
        # A hole pixel that the downscale averaged with hole colour (black) must be refilled too.
        small_mask = cv2.dilate(small_mask, np.ones((3, 3), np.uint8))
        small_filled = cv2.inpaint(small_image, small_mask, radius, algorithm)
        guess = cv2.resize(small_filled, (width, height), interpolation=cv2.INTER_LINEAR)
        filled8 = np.where(holes[..., None], guess, image8)
    else:
        filled8 = cv2.inpaint(image8, mask8, radius, algorithm)
    filled = np.where(holes[..., None], filled8.astype(np.float32) / 255.0, rgb)
    return filled.astype(np.float32)
