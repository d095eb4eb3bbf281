"""Previews people can look at: depth and motion pictures, contact sheets, and image and video writers.

Every picture is a uint8 RGB array (HxWx3). Inputs may be float images in [0, 1] or uint8 images.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from mom_nerfstudio.atomic import atomic_file
from mom_nerfstudio.log import logger
from mom_nerfstudio.synthesis.image_io import to_uint8
from mom_nerfstudio.synthesis.motion.input import MovingRegion

_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
# Tried in order; "avc1" (H.264) plays everywhere but is missing from many OpenCV builds.
_MP4_CODECS = ("avc1", "mp4v")
_LEGEND_FRACTION = 0.12  # legend wheel diameter as a fraction of the image's short side
_ARROW_SCALES = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


def to_uint8_rgb(image: np.ndarray) -> np.ndarray:
    """Return `image` as uint8 RGB (HxWx3): floats are read as [0, 1] and clipped; gray images are repeated."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an HxW or HxWx3 image, got shape {image.shape}")
    if image.dtype == np.uint8:
        return image
    if np.issubdtype(image.dtype, np.floating):
        return to_uint8(np.nan_to_num(image))
    raise ValueError(f"expected a uint8 or float image, got dtype {image.dtype}")


def colorize_depth(depth: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Colour-map a depth map through its disparity (1 / depth) with the inferno map.

    Near pixels (large disparity) come out bright yellow, far ones (the sky) dark purple to black. The range is
    the 2nd to 98th percentile of the valid disparities, so a few outliers do not wash out the picture.
    Pixels outside `valid`, and non-finite or non-positive depths, are black.
    """
    depth = np.asarray(depth, dtype=np.float64)
    usable = np.isfinite(depth) & (depth > 0)
    if valid is not None:
        usable &= np.asarray(valid, dtype=bool)
    picture = np.zeros((*depth.shape, 3), dtype=np.uint8)
    if not usable.any():
        return picture
    disparity = np.zeros_like(depth)
    disparity[usable] = 1.0 / depth[usable]
    low, high = np.percentile(disparity[usable], [2.0, 98.0])
    normalized = np.clip((disparity - low) / max(high - low, 1e-12), 0.0, 1.0)
    levels = np.round(normalized * 255.0).astype(np.uint8)
    colored = cv2.cvtColor(cv2.applyColorMap(levels, cv2.COLORMAP_INFERNO), cv2.COLOR_BGR2RGB)
    picture[usable] = colored[usable]
    return picture


def flow_to_color(flow: np.ndarray, max_magnitude: float | None = None) -> np.ndarray:
    """Colour a motion field with the optical-flow colour wheel: hue is the direction, saturation the speed.

    As in the Middlebury convention, zero motion is white and motion of `max_magnitude` (default: the largest
    in the field) or more is fully saturated. Hues follow the image's angle atan2(dy, dx) with y down:
    right is red, down yellow-green, left cyan, up violet.
    """
    flow = np.asarray(flow, dtype=np.float32)
    if flow.ndim != 3 or flow.shape[2] != 2:
        raise ValueError(f"expected an HxWx2 motion field, got shape {flow.shape}")
    flow = np.nan_to_num(flow)
    dx, dy = flow[..., 0], flow[..., 1]
    magnitude = np.hypot(dx, dy)
    if max_magnitude is None:
        max_magnitude = float(magnitude.max()) if magnitude.size else 0.0
    saturation = np.clip(magnitude / max(max_magnitude, 1e-12), 0.0, 1.0)
    hue_degrees = np.degrees(np.arctan2(dy, dx)) % 360.0
    hsv = np.stack([hue_degrees, saturation, np.ones_like(saturation)], axis=-1).astype(np.float32)
    return to_uint8_rgb(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB))


def motion_overlay(
    rgb: np.ndarray,
    flow: np.ndarray,
    mask: np.ndarray,
    arrow_spacing: int = 48,
    regions: Sequence[MovingRegion] = (),
) -> np.ndarray:
    """Show a motion field over its image: the colour wheel blended inside the mask, arrows, scale, legend, and the
    named `regions` of an automatic motion, outlined and labelled with their share of the frame.

    Arrows start on a grid of `arrow_spacing` px inside the mask and are lengthened by a round factor so the
    typical motion spans about half a grid cell; the factor is written in the top-left corner ("arrows x20").
    The colour-wheel legend in the bottom-right corner is saturated at the field's largest speed in the mask.
    """
    if arrow_spacing < 1:
        raise ValueError(f"arrow_spacing must be at least 1 px, got {arrow_spacing}")
    picture = to_uint8_rgb(rgb).copy()
    flow = np.nan_to_num(np.asarray(flow, dtype=np.float32))
    mask = np.asarray(mask, dtype=bool)
    if flow.shape[:2] != picture.shape[:2] or mask.shape != picture.shape[:2]:
        raise ValueError(
            f"image {picture.shape[:2]}, motion field {flow.shape[:2]} and mask {mask.shape} must have one size"
        )
    speed = np.hypot(flow[..., 0], flow[..., 1])
    max_speed = float(speed[mask].max()) if mask.any() else 0.0

    colors = flow_to_color(flow, max_magnitude=max_speed)
    blended = (0.45 * picture + 0.55 * colors).round().astype(np.uint8)
    picture[mask] = blended[mask]

    for region in regions:
        _draw_region(picture, region)
    scale = _arrow_scale(speed[mask], arrow_spacing)
    _draw_arrows(picture, flow, mask, arrow_spacing, scale)
    _draw_label(picture, f"arrows x{scale:g}", origin=(8, 8))
    _draw_wheel_legend(picture)
    return picture


def contact_sheet(
    images: Sequence[np.ndarray], columns: int, labels: Sequence[str] | None = None, tile_width: int = 256
) -> np.ndarray:
    """Lay images out on a grid, each resized to `tile_width` px wide, optionally labelled in its corner.

    The sheet is min(columns, len(images)) tiles wide; every cell is as tall as the tallest resized image,
    shorter images sit at the top of their cell on black. Unused cells of the last row stay black.
    """
    if not images:
        raise ValueError("contact_sheet needs at least one image")
    if columns < 1 or tile_width < 1:
        raise ValueError(f"columns ({columns}) and tile_width ({tile_width}) must be at least 1")
    if labels is not None and len(labels) != len(images):
        raise ValueError(f"got {len(labels)} labels for {len(images)} images")
    tiles = [_resize_to_width(to_uint8_rgb(image), tile_width) for image in images]
    columns = min(columns, len(tiles))
    rows = math.ceil(len(tiles) / columns)
    cell_height = max(tile.shape[0] for tile in tiles)
    sheet = np.zeros((rows * cell_height, columns * tile_width, 3), dtype=np.uint8)
    for index, tile in enumerate(tiles):
        top, left = (index // columns) * cell_height, (index % columns) * tile_width
        cell = sheet[top : top + cell_height, left : left + tile_width]
        cell[: tile.shape[0]] = tile
        if labels is not None:
            _draw_label(cell, labels[index], origin=(4, 4))
    return sheet


def write_image(path: Path, image: np.ndarray, jpeg_quality: int = 95) -> Path:
    """Write an RGB image (uint8, or float in [0, 1]) as PNG or JPEG, chosen by the suffix; atomic."""
    path = Path(path)
    if path.suffix.lower() not in _IMAGE_SUFFIXES:
        raise ValueError(f"{path}: image files must end in one of {', '.join(_IMAGE_SUFFIXES)}")
    bgr = cv2.cvtColor(to_uint8_rgb(image), cv2.COLOR_RGB2BGR)
    params = [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality] if path.suffix.lower() != ".png" else []
    with atomic_file(path) as temp_path:
        if not cv2.imwrite(str(temp_path), bgr, params):
            raise OSError(f"could not write the image {path}")
    return path


def write_video(path: Path, frames: Iterable[np.ndarray], fps: float = 30.0) -> Path:
    """Write frames (uint8 RGB, or float RGB in [0, 1]) as an .mp4 or, when asked, an animated .gif; atomic.

    An .mp4 is encoded with the first codec OpenCV can use (H.264, then MPEG-4) and read back to check its
    frame count and size; odd sizes are padded by one repeated row or column, as the encoders need even
    ones. If no mp4 can be written, an endlessly looping .gif is written beside `path` instead, with a
    warning. Returns the path actually written. Frames are held in memory until the file is complete.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".mp4", ".gif"):
        raise ValueError(f"{path}: videos must end in .mp4 or .gif")
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    frames = [to_uint8_rgb(frame) for frame in frames]
    if not frames:
        raise ValueError(f"{path}: no frames to write")
    if any(frame.shape != frames[0].shape for frame in frames):
        raise ValueError(f"{path}: all frames must have one size, got {sorted({f.shape for f in frames})}")

    if suffix == ".mp4":
        try:
            with atomic_file(path) as temp_path:
                _write_mp4(temp_path, frames, fps)
            return path
        except _VideoEncodingError as error:
            path = path.with_suffix(".gif")
            logger.warning("Could not write an mp4 video here (%s); writing %s instead.", error, path)
    with atomic_file(path) as temp_path:
        _write_gif(temp_path, frames, fps)
    return path


class _VideoEncodingError(Exception):
    """No codec produced a video that reads back correctly."""


def _write_mp4(path: Path, frames: list[np.ndarray], fps: float) -> None:
    frames = [_pad_to_even_size(frame) for frame in frames]
    height, width = frames[0].shape[:2]
    failures = []
    for codec in _MP4_CODECS:
        with _quiet_opencv():
            writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), fps, (width, height))
        if not writer.isOpened():
            failures.append(f"{codec}: no encoder")
            continue
        try:
            for frame in frames:
                writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        finally:
            writer.release()
        found = _read_video_layout(path)
        if found == (len(frames), width, height):
            return
        failures.append(f"{codec}: read back {found[0]} frames of {found[1]}x{found[2]}")
    raise _VideoEncodingError("; ".join(failures) or "no codec to try")


def _read_video_layout(path: Path) -> tuple[int, int, int]:
    """Frame count (by decoding), width and height of a video file."""
    capture = cv2.VideoCapture(str(path))
    try:
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        count = 0
        while capture.grab():
            count += 1
        return count, width, height
    finally:
        capture.release()


def _write_gif(path: Path, frames: list[np.ndarray], fps: float) -> None:
    # GIF stores delays in hundredths of a second; Pillow rounds the millisecond value for us.
    pictures = [Image.fromarray(frame).convert("P", palette=Image.Palette.ADAPTIVE) for frame in frames]
    pictures[0].save(
        path, format="GIF", save_all=True, append_images=pictures[1:], duration=round(1000.0 / fps), loop=0
    )


def _pad_to_even_size(frame: np.ndarray) -> np.ndarray:
    height, width = frame.shape[:2]
    return np.pad(frame, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")


@contextlib.contextmanager
def _quiet_opencv() -> Iterator[None]:
    """Silence OpenCV's own log while probing codecs: a missing encoder is expected and handled."""
    if not hasattr(cv2, "getLogLevel"):  # some OpenCV builds have no log-level control
        yield
        return
    previous_level = cv2.getLogLevel()
    cv2.setLogLevel(0)
    try:
        yield
    finally:
        cv2.setLogLevel(previous_level)


def _resize_to_width(image: np.ndarray, width: int) -> np.ndarray:
    height = max(1, round(image.shape[0] * width / image.shape[1]))
    interpolation = cv2.INTER_AREA if width < image.shape[1] else cv2.INTER_LINEAR
    return cv2.resize(image, (width, height), interpolation=interpolation)


def _arrow_scale(speeds: np.ndarray, arrow_spacing: int) -> int:
    """The round factor that makes the typical (median non-zero) speed span closest to half an arrow cell."""
    moving = speeds[speeds > 1e-6]
    if moving.size == 0:
        return 1
    wanted = 0.5 * arrow_spacing / float(np.median(moving))
    return min(_ARROW_SCALES, key=lambda scale: abs(math.log(scale / wanted)))


def _draw_arrows(picture: np.ndarray, flow: np.ndarray, mask: np.ndarray, spacing: int, scale: int) -> None:
    height, width = mask.shape
    thickness = max(1, round(min(height, width) / 400))
    for y in range(spacing // 2, height, spacing):
        for x in range(spacing // 2, width, spacing):
            if not mask[y, x]:
                continue
            dx, dy = flow[y, x] * scale
            if math.hypot(dx, dy) < 1.0:
                continue
            start, end = (x, y), (round(x + dx), round(y + dy))
            # A white halo under a black arrow keeps it readable on dark and bright ground alike.
            cv2.arrowedLine(picture, start, end, (255, 255, 255), thickness + 2, cv2.LINE_AA, tipLength=0.3)
            cv2.arrowedLine(picture, start, end, (0, 0, 0), thickness, cv2.LINE_AA, tipLength=0.3)


def _draw_region(picture: np.ndarray, region: MovingRegion) -> None:
    """Outline `region` and write its name and share of the frame at its most interior point."""
    outline = region.mask.astype(np.uint8)
    contours, _ = cv2.findContours(outline, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    thickness = max(1, round(min(picture.shape[:2]) / 300))
    cv2.drawContours(picture, contours, -1, (255, 255, 255), thickness, cv2.LINE_AA)
    interior = cv2.distanceTransform(np.pad(outline, 1), cv2.DIST_L2, 5)[1:-1, 1:-1]
    # The middle of the most interior pixels: a band's label sits at its centre, not at its left end.
    rows, columns = np.nonzero(interior >= 0.9 * interior.max())
    row, column = int(np.median(rows)), int(np.median(columns))
    _draw_label(
        picture, f"{region.name} {100 * region.mask.mean():.0f}%", origin=(max(0, column - 40), max(0, row - 8))
    )


def _draw_label(picture: np.ndarray, text: str, origin: tuple[int, int]) -> None:
    """Write `text` with its top-left corner at `origin` (x, y), white on a black outline."""
    font, font_scale = cv2.FONT_HERSHEY_SIMPLEX, max(0.4, min(picture.shape[:2]) / 800)
    thickness = max(1, round(font_scale * 1.5))
    (_, text_height), _ = cv2.getTextSize(text, font, font_scale, thickness)
    baseline_origin = (origin[0], origin[1] + text_height)
    for color, weight in (((0, 0, 0), thickness + 2), ((255, 255, 255), thickness)):
        cv2.putText(picture, text, baseline_origin, font, font_scale, color, weight, cv2.LINE_AA)


def _draw_wheel_legend(picture: np.ndarray) -> None:
    """Paint the colour wheel (speed 0 at the centre, full speed at the rim) in the bottom-right corner."""
    height, width = picture.shape[:2]
    diameter = max(16, round(_LEGEND_FRACTION * min(height, width)))
    if diameter + 8 > min(height, width):
        return
    radius = diameter / 2
    offsets = np.arange(diameter, dtype=np.float32) - (diameter - 1) / 2
    dx, dy = np.meshgrid(offsets, offsets)
    wheel = flow_to_color(np.stack([dx, dy], axis=-1), max_magnitude=radius)
    inside = np.hypot(dx, dy) <= radius
    top, left = height - diameter - 8, width - diameter - 8
    region = picture[top : top + diameter, left : left + diameter]
    region[inside] = wheel[inside]
    center = (left + diameter // 2, top + diameter // 2)
    cv2.circle(picture, center, round(radius), (0, 0, 0), 1, cv2.LINE_AA)
