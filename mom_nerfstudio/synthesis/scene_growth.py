"""Progressive inpainting: the scene grows, view by view, into what the photo never showed.

The views are visited in order. Each is rendered from the photo's points and from the points invented so far;
its holes (pixels that neither covers) are inpainted, and every hole pixel is lifted into the scene as a new
static point, at a depth continued from the rendered depth around the hole. A later view that sees the same
region renders the points an earlier view invented instead of inventing the region again, so the views agree.

Invented points never hide the photo's points: a view shows them only where the photo's points do not cover a
pixel fully (`complete_with_invented`), and among themselves the points of earlier views go before those of
later ones. So the photo's own view stays the photo, and a region keeps the content first invented for it, even
where a later view's points, at their approximate depths, would land in front of it.

The depth of a hole pixel comes from the seen pixels around it, in disparity, along a row or a column, as
depth-image-based rendering fills disocclusions:
- a hole bounded on both sides of its row (or column, whichever gap is shorter) takes the farther side's
  disparity: a hole that a small orbit opens beside an object shows what was hidden behind it, and content
  revealed there must not float in front of the background;
- a hole open on one side (a strip uncovered at the image's edge) continues the other side's value, so each row
  (or column) keeps its depth there: the ground stays a ground plane, the sky stays far;
- a pixel with no seen pixel in its row or column takes the nearest seen pixel's.
The carried values are then smoothed a little inside the holes (never across into the seen pixels), so that
neighbouring rows do not tear apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from mom_nerfstudio.synthesis.cameras import (
    Intrinsics,
    pixel_grid,
    transform_points,
    unproject_pixels,
)
from mom_nerfstudio.synthesis.depth.convention import SKY_DEPTH
from mom_nerfstudio.synthesis.point_renderer import render_points

Inpaint = Callable[[np.ndarray, np.ndarray, int], np.ndarray]
"""(rendered RGB HxWx3, holes HxW, view index) -> the RGB with its holes painted in."""

SMOOTHING_SIGMA = 1.5
"""Gaussian smoothing (pixels) of the depth carried into holes."""


@dataclass
class ViewRender:
    """What points show in one view."""

    rgb: torch.Tensor  # [H, W, 3]
    depth: torch.Tensor  # [H, W] z-depth, inf where nothing landed
    coverage: torch.Tensor  # [H, W] in [0, 1]: how much of each pixel the points cover


@dataclass
class InventedPoints:
    """Static points invented by inpainting: world positions, colours, and the view that invented each."""

    points: torch.Tensor  # [N, 3] in the synthesis frame
    rgb: torch.Tensor  # [N, 3] in [0, 1]
    view: torch.Tensor  # [N] int64, index of the view whose holes the point filled

    @staticmethod
    def empty(device: torch.device | str = "cpu") -> InventedPoints:
        """No points."""
        nothing = torch.zeros((0, 3), device=device)
        return InventedPoints(nothing, nothing.clone(), torch.zeros(0, dtype=torch.int64, device=device))

    @staticmethod
    def from_arrays(arrays: dict[str, np.ndarray], device: torch.device | str = "cpu") -> InventedPoints:
        """The points stored by `to_arrays`."""
        return InventedPoints(
            torch.from_numpy(arrays["points"]).float().to(device),
            torch.from_numpy(arrays["rgb"]).float().to(device),
            torch.from_numpy(arrays["view"]).long().to(device),
        )

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The points as numpy arrays, for the stage cache."""
        return {
            "points": self.points.cpu().numpy().astype(np.float32),
            "rgb": self.rgb.cpu().numpy().astype(np.float32),
            "view": self.view.cpu().numpy().astype(np.int64),
        }

    def extended(self, points: torch.Tensor, rgb: torch.Tensor, view: int) -> InventedPoints:
        """These points and `points` with colours `rgb`, invented by view `view`."""
        views = torch.full((points.shape[0],), view, dtype=torch.int64, device=self.view.device)
        return InventedPoints(
            torch.cat([self.points, points]), torch.cat([self.rgb, rgb]), torch.cat([self.view, views])
        )

    def __len__(self) -> int:
        return int(self.points.shape[0])


def complete_with_invented(
    seen: ViewRender,
    invented: InventedPoints,
    world_to_camera: torch.Tensor,
    intrinsics: Intrinsics,
    coverage_threshold: float,
) -> ViewRender:
    """What the photo's points show in a view (`seen`), completed by the invented points where they show too little.

    A pixel whose coverage reaches `coverage_threshold` keeps what `seen` shows. Into the others the invented
    points of each inventing view are splatted in turn, earliest first, each adding coverage (and its colour and
    depth, weighted by it) only while the pixel's coverage is still below the threshold; so the seam between
    seen and invented content, where both cover part of a pixel, is shared, and earlier inventions win.
    """
    coverage = seen.coverage.clamp(0.0, 1.0)
    rgb_sum = seen.rgb * coverage[..., None]
    depth_sum = torch.where(
        (coverage > 0) & torch.isfinite(seen.depth), seen.depth * coverage, torch.zeros_like(coverage)
    )
    for view in torch.unique(invented.view).tolist():
        chosen = invented.view == view
        render = render_points(
            transform_points(invented.points[chosen], world_to_camera), invented.rgb[chosen], intrinsics
        )
        share = torch.minimum(render.weight.clamp(max=1.0), 1.0 - coverage) * (coverage < coverage_threshold)
        rgb_sum += share[..., None] * render.features
        depth_sum += torch.where(share > 0, share * render.depth, torch.zeros_like(share))
        coverage = coverage + share
    safe = torch.where(coverage > 0, coverage, torch.ones_like(coverage))
    kept = seen.coverage >= coverage_threshold
    rgb = torch.where(kept[..., None], seen.rgb, rgb_sum / safe[..., None])
    depth = torch.where(
        kept, seen.depth, torch.where(coverage > 0, depth_sum / safe, torch.full_like(safe, float("inf")))
    )
    return ViewRender(rgb, depth, coverage)


def grow_scene(
    render_seen: Callable[[int], ViewRender],
    world_to_cameras: torch.Tensor,
    intrinsics: Intrinsics,
    inpaint: Inpaint,
    coverage_threshold: float,
    on_view: Callable[[], None] | None = None,
) -> InventedPoints:
    """Invent points for the holes of each view in turn; returns every invented point.

    `render_seen(index)` is what the photo's points show in view `index` (with `world_to_cameras[index]`); the
    points invented so far complete it (`complete_with_invented`), and the pixels whose coverage stays below
    `coverage_threshold` are inpainted and lifted.
    """
    invented: InventedPoints | None = None
    for index, world_to_camera in enumerate(world_to_cameras):
        shown = render_seen(index)
        if invented is None:
            invented = InventedPoints.empty(shown.rgb.device)
        if len(invented):
            shown = complete_with_invented(shown, invented, world_to_camera, intrinsics, coverage_threshold)
        holes = (shown.coverage < coverage_threshold).cpu().numpy()
        if holes.any():
            painted = inpaint(shown.rgb.cpu().numpy(), holes, index)
            hole_depth = continue_depth_into_holes(shown.depth.cpu().numpy(), holes)
            points = lift_pixels(holes, hole_depth, intrinsics, torch.linalg.inv(world_to_camera))
            colours = torch.from_numpy(painted[holes].astype(np.float32)).to(points.device)
            invented = invented.extended(points, colours, index)
        if on_view is not None:
            on_view()
    return invented if invented is not None else InventedPoints.empty()


def continue_depth_into_holes(depth: np.ndarray, holes: np.ndarray) -> np.ndarray:
    """Depth (HxW) for every pixel: the rendered `depth` outside `holes`, continued from around them inside.

    `depth` may be infinite or zero where nothing was rendered; such pixels count as holes too. Continued depths
    lie in (0, SKY_DEPTH]; a view with no rendered depth at all gets SKY_DEPTH everywhere. Returns float32 HxW.
    """
    known = ~holes & np.isfinite(depth) & (depth > 0)
    if not known.any():
        return np.full(depth.shape, SKY_DEPTH, np.float32)
    disparity = np.zeros(depth.shape, np.float64)
    disparity[known] = 1.0 / depth[known]
    rows = _carried_along(disparity, known, axis=1)
    columns = _carried_along(disparity, known, axis=0)
    carried = np.where(rows.score <= columns.score, rows.value, columns.value)
    stranded = ~known & np.isinf(np.minimum(rows.score, columns.score))
    if stranded.any():
        carried[stranded] = _nearest_value(disparity, known)[stranded]
    open_pixels = (~known).astype(np.float64)
    weight = cv2.GaussianBlur(open_pixels, (0, 0), SMOOTHING_SIGMA)
    smoothed = cv2.GaussianBlur(np.where(known, 0.0, carried), (0, 0), SMOOTHING_SIGMA) / np.maximum(weight, 1e-12)
    continued = np.where(known, depth, 1.0 / np.maximum(smoothed, 1.0 / SKY_DEPTH))
    return continued.astype(np.float32)


@dataclass
class _Carried:
    value: np.ndarray  # disparity carried into each pixel along one axis
    score: np.ndarray  # lower is more trusted: the gap between both sides, else 'one side' + distance, else inf


def _carried_along(disparity: np.ndarray, known: np.ndarray, axis: int) -> _Carried:
    """The disparity each pixel gets from the nearest seen pixels before and after it along `axis`."""
    length = known.shape[axis]
    index = np.arange(length).reshape((-1, 1) if axis == 0 else (1, -1))
    index = np.broadcast_to(index, known.shape)
    before = np.maximum.accumulate(np.where(known, index, -1), axis=axis)
    after = np.flip(np.minimum.accumulate(np.flip(np.where(known, index, length), axis=axis), axis=axis), axis=axis)
    has_before, has_after = before >= 0, after < length
    value_before = np.take_along_axis(disparity, np.clip(before, 0, length - 1), axis=axis)
    value_after = np.take_along_axis(disparity, np.clip(after, 0, length - 1), axis=axis)
    both = has_before & has_after
    value = np.where(both, np.minimum(value_before, value_after), np.where(has_before, value_before, value_after))
    one_side = 2.0 * length + np.where(has_before, index - before, after - index)  # after every two-sided gap
    score = np.where(both, after - before, np.where(has_before | has_after, one_side, np.inf))
    return _Carried(value, score.astype(np.float64))


def _nearest_value(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Each pixel's value of the nearest known pixel."""
    # The known pixels are the zeros of the transform's input; each label names one of them.
    _, labels = cv2.distanceTransformWithLabels(
        (~known).astype(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL
    )
    value_of_label = np.zeros(labels.max() + 1, values.dtype)
    value_of_label[labels[known]] = values[known]
    return value_of_label[labels]


def lift_pixels(
    mask: np.ndarray, depth: np.ndarray, intrinsics: Intrinsics, camera_to_world: torch.Tensor
) -> torch.Tensor:
    """World points [N, 3] of the pixels in `mask` (bool HxW, row-major order) at z-depth `depth` (HxW)."""
    device = camera_to_world.device
    selected = torch.from_numpy(mask).to(device)
    pixels = pixel_grid(mask.shape[0], mask.shape[1], device=device)[selected]
    z = torch.from_numpy(depth.astype(np.float32)).to(device)[selected]
    return transform_points(unproject_pixels(pixels, z, intrinsics), camera_to_world)
