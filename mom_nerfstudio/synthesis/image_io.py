"""Loading the input photo: any common format and bit depth in, float RGB at the working resolution out."""

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from mom_nerfstudio.errors import Mom4dInputError
from mom_nerfstudio.log import logger

MIN_IMAGE_SIZE = 32
"""The smallest accepted side, in pixels, of both the file and the working image."""

OPAQUE_ALPHA = 0.5
"""A pixel whose alpha (in [0, 1], at the working resolution) exceeds this is opaque; the others are transparent."""

AlphaMode = Literal["white", "mask"]


@dataclass(frozen=True)
class LoadedImage:
    """The input photo, ready for the synthesis."""

    rgb: np.ndarray
    """float32 HxWx3 in [0, 1], at the working resolution."""
    transparent: np.ndarray | None
    """bool HxW, True where the input was transparent (in either alpha mode); None for input without alpha."""
    alpha_mode: AlphaMode
    """How transparency was handled: composited on white, or kept as an opacity mask."""
    original_size: tuple[int, int]
    """(height, width) of the file after EXIF orientation."""
    scale: float
    """Working size / original size (1.0 when not resized)."""
    content_hash: str
    """sha256 hex digest of the file's bytes."""

    @property
    def opacity_mask(self) -> np.ndarray | None:
        """bool HxW, True where the input was opaque; only for input with alpha loaded in "mask" mode."""
        if self.transparent is None or self.alpha_mode != "mask":
            return None
        return ~self.transparent


def load_image(path: Path, max_resolution: int = 1024, alpha_mode: AlphaMode = "white") -> LoadedImage:
    """Load a jpg/png/webp/tiff photo as float RGB, upright, shrunk so that its long side is <= `max_resolution`.

    Grey, palette, 16-bit and CMYK images become RGB in [0, 1]. Transparency is composited on white
    (`alpha_mode="white"`) or kept aside as an opacity mask (`alpha_mode="mask"`). Raises Mom4dInputError when
    the file is missing, not an image, damaged or too small (`max_resolution` is checked with the other options by
    `SynthesisConfig.validate`).
    """
    path = Path(path)
    if alpha_mode not in ("white", "mask"):
        raise Mom4dInputError(f"--alpha-mode {alpha_mode!r} is not known; use 'white' or 'mask'.")
    data = _read_bytes(path)
    image = _decode(path, data)
    original_size = (image.height, image.width)
    if min(original_size) < MIN_IMAGE_SIZE:
        raise Mom4dInputError(
            f"Image {path} is {image.width}x{image.height} pixels; both sides must be at least {MIN_IMAGE_SIZE}. "
            "Use a larger photo."
        )
    rgb, alpha = _to_float_rgb_and_alpha(path, image)
    rgb, alpha, scale = _shrink(path, rgb, alpha, max_resolution)
    rgb = _apply_alpha(path, rgb, alpha, alpha_mode)
    return LoadedImage(
        rgb=np.ascontiguousarray(np.clip(rgb, 0.0, 1.0), dtype=np.float32),
        transparent=None if alpha is None else alpha <= OPAQUE_ALPHA,
        alpha_mode=alpha_mode,
        original_size=original_size,
        scale=scale,
        content_hash=hashlib.sha256(data).hexdigest(),
    )


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    """8-bit colours of an image in [0, 1] (rounded, clipped)."""
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)


def check_photo_path(path: Path, name: str = "Image") -> None:
    """Raise Mom4dInputError unless `path` names an existing file (whether it is an image is checked on loading).

    `name` introduces the path in the message: "Image", or the option that gave it ("--data").
    """
    if not path.exists():
        raise Mom4dInputError(f"{name} {path} does not exist; check the path of the input photo.")
    if path.is_dir():
        raise Mom4dInputError(f"{name} {path} is a directory; pass the path of a photo file (jpg, png, webp, tiff).")


def _read_bytes(path: Path) -> bytes:
    check_photo_path(path)
    try:
        return path.read_bytes()
    except OSError as error:
        raise Mom4dInputError(f"Image {path} could not be read ({error.strerror}); check its permissions.") from error


def _decode(path: Path, data: bytes) -> Image.Image:
    """Open, fully decode (so that a truncated or corrupt file fails here) and turn upright by its EXIF."""
    try:
        image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError as error:
        raise Mom4dInputError(
            f"File {path} is not an image Pillow can read; pass a jpg, png, webp or tiff photo."
        ) from error
    except Image.DecompressionBombError as error:
        raise Mom4dInputError(f"Image {path} is too large to decode safely ({error}); downscale it first.") from error
    try:
        image.load()
        _report_extra_frames(path, image)
        return ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise Mom4dInputError(
            f"Image {path} is damaged or truncated and cannot be decoded ({error}); re-export or re-download it."
        ) from error


def _report_extra_frames(path: Path, image: Image.Image) -> None:
    """Say that only the first frame of an animated (GIF, WebP, PNG) or multi-page (TIFF) file is the photo."""
    frames = getattr(image, "n_frames", 1)
    if frames > 1:
        logger.warning(
            f"Image {path} has {frames} frames; using its first frame as the photo (the others are ignored)."
        )


def _to_float_rgb_and_alpha(path: Path, image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """RGB float32 HxWx3 in [0, 1] and, for images with transparency, alpha float32 HxW in [0, 1]."""
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        # 16-bit grey (Pillow opens 16-bit PNG and TIFF as these modes); "I" holds the same range.
        grey = np.asarray(image, dtype=np.float32) / 65535.0
        return np.repeat(grey[:, :, None], 3, axis=2), None
    if image.mode == "F":
        grey = np.asarray(image, dtype=np.float32)
        return np.repeat(grey[:, :, None], 3, axis=2), None
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    try:
        image = image.convert("RGBA" if has_alpha else "RGB")
    except ValueError as error:
        raise Mom4dInputError(
            f"Image {path} uses the colour mode {image.mode!r}, which cannot be converted to RGB; save it as RGB."
        ) from error
    pixels = np.asarray(image, dtype=np.float32) / 255.0
    if has_alpha:
        return pixels[:, :, :3], pixels[:, :, 3]
    return pixels, None


def _shrink(
    path: Path, rgb: np.ndarray, alpha: np.ndarray | None, max_resolution: int
) -> tuple[np.ndarray, np.ndarray | None, float]:
    """Area-downscale so that the long side is <= max_resolution; returns the new arrays and the scale."""
    height, width = rgb.shape[:2]
    long_side = max(height, width)
    if long_side <= max_resolution:
        return rgb, alpha, 1.0
    scale = max_resolution / long_side
    new_height, new_width = max(1, round(height * scale)), max(1, round(width * scale))
    if min(new_height, new_width) < MIN_IMAGE_SIZE:
        raise Mom4dInputError(
            f"Image {path} is {width}x{height}; shrunk to a long side of {max_resolution} it would be "
            f"{new_width}x{new_height}, under {MIN_IMAGE_SIZE} pixels. Raise --max-resolution or crop the photo."
        )
    logger.info(f"Resized the image from {width}x{height} to {new_width}x{new_height} (width x height).")
    rgb = cv2.resize(rgb, (new_width, new_height), interpolation=cv2.INTER_AREA)
    if alpha is not None:
        alpha = cv2.resize(alpha, (new_width, new_height), interpolation=cv2.INTER_AREA)
    return rgb, alpha, max(new_height, new_width) / long_side


def _apply_alpha(path: Path, rgb: np.ndarray, alpha: np.ndarray | None, alpha_mode: AlphaMode) -> np.ndarray:
    """The colours to work with: composited on white in "white" mode, as they are otherwise."""
    if alpha is None:
        return rgb
    if alpha_mode == "white":
        logger.info(
            f"Image {path} has transparency; composited it on white (the automatic motion leaves transparent pixels still)."
        )
        return rgb * alpha[:, :, None] + (1.0 - alpha[:, :, None])
    logger.info(f"Image {path} has transparency; kept its colours and an opacity mask (alpha > {OPAQUE_ALPHA:g}).")
    return rgb
