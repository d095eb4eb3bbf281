"""What moves in the photo, and how: the user's motion annotation, or an automatic default.

Sources, first match wins:
1. `mode="none"`: a static scene.
2. A labelme annotation beside the image (`photo.jpg` -> `photo.json`): polygons labelled `motion*` are the
   motion mask, line shapes labelled `hint*` are arrows start -> end.
3. An explicit motion mask image plus a hints file (a JSON list of arrows `[x0, y0, x1, y1]`).
4. A dense flow (`.npy`, HxWx2, pixels per frame at the array's own resolution).
5. Automatic (`motion.automatic`): the sky drifts sideways, flowing water flows down the image, calm water ripples.

Everything is returned at the working resolution: coordinates in working pixels, motion in working pixels
per frame. An arrow of length L drawn on an image of the original resolution means a motion of
L / hint_frames original pixels per frame.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

from mom_nerfstudio.errors import Mom4dInputError
from mom_nerfstudio.json_files import is_number, read_json
from mom_nerfstudio.log import logger
from mom_nerfstudio.synthesis.config import SynthesisConfig
from mom_nerfstudio.synthesis.motion.automatic import automatic_motion
from mom_nerfstudio.synthesis.motion.fields import resize_flow
from mom_nerfstudio.synthesis.motion.input import AutomaticSpeeds, MotionInput, annotation_path
from mom_nerfstudio.synthesis.segmentation import SkyAndWater, find_sky_and_water

MOTION_LABEL_PREFIX = "motion"
HINT_LABEL_PREFIX = "hint"

MAX_SPEED_FRACTION = 0.05
"""The fastest plausible motion, per frame, as a fraction of the image's long side (whatever the resolution): a
point moving faster would cross the whole image in 20 frames. Every motion source is held to it. Drawn
annotations move about 0.1 % (examples/forest_stream.json: at most 0.08 %; the automatic default: 0.1 %)."""

FLOW_MOTION_THRESHOLD = 0.01
"""A pixel of a given flow moves when its speed exceeds this (working pixels per frame)."""

SUPERSAMPLING = 4
"""Polygons are filled on a canvas this many times finer than the working image, then averaged down."""

SUBPIXEL_BITS = 4
"""Polygon vertices are placed at 1/16 pixel precision on that canvas (cv2.fillPoly's `shift`)."""

OPTIONS_HELP = (
    "put a labelme annotation beside the image (same name, .json: polygons labelled 'motion...' and "
    "lines labelled 'hint...', start -> end), or pass --motion-mask with --hints, or --flow, "
    "or --motion none for a static scene"
)


def uses_automatic_motion(
    image_path: Path, mode: str, motion_mask: Path | None, hints: Path | None, flow: Path | None
) -> bool:
    """Whether the photo's motion is the automatic default: no annotation beside it, no mask, hints or flow, and not
    `--motion none` (the sources' order of precedence, see the module docstring)."""
    given = motion_mask is not None or hints is not None or flow is not None
    return mode == "auto" and not annotation_path(image_path).is_file() and not given


def resolve_motion_input(
    image_path: Path,
    rgb: np.ndarray,
    scale: float,
    *,
    mode: Literal["auto", "none"] = "auto",
    motion_mask: Path | None = None,
    hints: Path | None = None,
    flow: Path | None = None,
    hint_frames: float = 50.0,
    auto_speeds: AutomaticSpeeds = SynthesisConfig().automatic_speeds,
    num_frames: int = SynthesisConfig.num_frames,
    photo_size: tuple[int, int] | None = None,
    still: np.ndarray | None = None,
    sky_and_water: Callable[[], SkyAndWater] | None = None,
    learned_segmenter_used: bool = False,
) -> MotionInput:
    """Find the motion for `image_path` from the first source that applies (see the module docstring).

    Labelme coordinates are read in the frame of the annotation's imageWidth x imageHeight (which must have
    the image's aspect ratio), or of the original image when those are missing; mask images and flows may
    have any resolution with the image's aspect ratio; hints files are in pixels of the original image.

    Args:
        image_path: the photo the user annotated (its labelme annotation is looked up beside it).
        rgb: the working-resolution image, HxWx3 float32 in [0, 1].
        scale: working resolution / original resolution of `image_path`.
        mode: "auto" uses the sources in order; "none" makes the scene static.
        motion_mask: a mask image (nonzero = moving), any resolution with the image's aspect ratio.
        hints: a JSON file with a list of arrows `[x0, y0, x1, y1]` in pixels of the original image.
        flow: an `.npy` HxWx2 flow in pixels per frame at its own resolution (the image's aspect ratio).
        hint_frames: an arrow of length L means L / hint_frames pixels per frame.
        auto_speeds: how far the automatic default carries the sky and the water over one loop (shares of the frame).
        num_frames: frames per loop.
        photo_size: (height, width) of the photo file, for messages; default: the working size over `scale`.
        still: bool HxW, pixels the automatic default must never animate (a transparent background).
        sky_and_water: what the automatic default animates, computed on demand (the synthesis caches it and may use
            a learned segmenter); the weight-free detectors when None.
        learned_segmenter_used: whether `sky_and_water` comes from a learned segmenter (else the log suggests one
            when the automatic default may have missed water).

    Raises:
        Mom4dInputError: for any malformed or inconsistent input, naming the file and the field, and for motion
            faster than MAX_SPEED_FRACTION of the image's long side per frame (in the pixels of its own source).
    """
    image_path = Path(image_path)
    shape = rgb.shape[:2]
    if mode not in ("auto", "none"):
        raise Mom4dInputError(f"Unknown motion mode {mode!r}: use 'auto' (find the motion) or 'none' (static).")
    if not scale > 0:
        raise Mom4dInputError(f"The working scale of {image_path} must be positive, got {scale}.")
    if photo_size is None:
        photo_size = (round(shape[0] / scale), round(shape[1] / scale))
    explicit = {"--motion-mask": motion_mask, "--hints": hints, "--flow": flow}

    if mode == "none":
        logger.info("Motion: none (static scene), as asked with --motion none.")
        return MotionInput.static(shape, "none (static scene requested)")

    annotation = annotation_path(image_path)
    if annotation.is_file():
        _warn_ignored(explicit, because=f"the labelme annotation {annotation.name} beside the image")
        logger.info(f"Motion: labelme annotation {annotation} (found beside the image).")
        return _from_labelme(annotation, shape, scale, hint_frames, photo_size)

    if motion_mask is not None or hints is not None:
        if motion_mask is None:
            raise Mom4dInputError(
                f"Hints {hints} were given without a motion mask: pass --motion-mask with an "
                "image that is nonzero where things move (the hints say how they move)."
            )
        if hints is None:
            raise Mom4dInputError(
                f"The motion mask {motion_mask} was given without hints, so nothing would "
                "move: pass --hints with a JSON list of arrows [[x0, y0, x1, y1], ...] in "
                "pixels of the original image, or a dense --flow instead."
            )
        _warn_ignored({"--flow": flow}, because="--motion-mask with --hints")
        logger.info(f"Motion: motion mask {motion_mask} with hints {hints} (given on the command line).")
        return _from_mask_and_hints(Path(motion_mask), Path(hints), shape, scale, hint_frames, photo_size)

    if flow is not None:
        logger.info(f"Motion: dense flow {flow} (given on the command line).")
        return _from_flow(Path(flow), shape, photo_size)

    _check_plausible_speed(
        auto_speeds.fastest(shape, num_frames), max(shape), "The automatic motion", "lower its share of the frame"
    )
    logger.warning(
        f"No motion given for {image_path.name}: animating the sky and water found automatically. "
        f"To choose what moves, {OPTIONS_HELP}."
    )
    found = sky_and_water() if sky_and_water is not None else find_sky_and_water(rgb)
    return automatic_motion(image_path, found, auto_speeds, num_frames, still, learned_segmenter_used)


# --- labelme annotation -------------------------------------------------------------------------------------

FAR_OUTSIDE_SIZES = 10.0
"""A labelme point more than this many image widths (or heights) beyond the image's edge is refused: no drawing
means it, and coordinates like 1e30 overflow the fixed-point integers that the motion polygons are filled with."""


def _from_labelme(
    path: Path, shape: tuple[int, int], scale: float, hint_frames: float, photo_size: tuple[int, int]
) -> MotionInput:
    """Read motion polygons and hint lines from a labelme annotation."""
    document = read_json(path)
    if not isinstance(document, dict):
        raise Mom4dInputError(
            f"{path}: expected a labelme annotation (a JSON object with 'shapes'), "
            f"found a JSON {type(document).__name__}."
        )
    if "shapes" not in document:
        raise Mom4dInputError(
            f"{path}: no 'shapes' field; is this a labelme annotation? Draw polygons labelled "
            "'motion' and lines labelled 'hint' in labelme and save."
        )
    shapes = document["shapes"]
    if not isinstance(shapes, list):
        raise Mom4dInputError(f"{path}: 'shapes' must be a list, found a {type(shapes).__name__}.")
    mapping = _labelme_mapping(path, document, shape, scale, photo_size)

    polygons: list[np.ndarray] = []
    arrows: list[np.ndarray] = []
    for index, item in enumerate(shapes):
        where = f"shapes[{index}]"
        if not isinstance(item, dict):
            raise Mom4dInputError(f"{path}: {where} must be an object with 'label' and 'points'.")
        for field in ("label", "points"):
            if field not in item:
                raise Mom4dInputError(f"{path}: {where} has no '{field}'; fix or delete the shape in labelme.")
        label = item["label"]
        if not isinstance(label, str):
            raise Mom4dInputError(f"{path}: {where}.label must be a string, found {label!r}.")
        shape_type = item.get("shape_type") or "polygon"
        points = _points(item["points"], path, f"{where}.points")
        _check_near_the_image(points, mapping, path, where)
        kind = label.strip().casefold()
        if kind.startswith(MOTION_LABEL_PREFIX):
            polygons.append(_motion_region(points, shape_type, path, where))
        elif kind.startswith(HINT_LABEL_PREFIX):
            if shape_type != "line":
                raise Mom4dInputError(
                    f"{path}: {where}.shape_type: a hint must be a line (labelme 'Create "
                    f"Line', start -> end), found {shape_type!r}."
                )
            if len(points) != 2:
                raise Mom4dInputError(
                    f"{path}: {where}.points: a hint line needs exactly 2 points (start, end), found {len(points)}."
                )
            arrows.append(points.reshape(4))

    mask = _rasterise(polygons, mapping, shape)
    starts, velocities = _arrows_to_hints(np.array(arrows).reshape(-1, 4), mapping, hint_frames, path)
    return _sparse_motion(
        mask,
        starts,
        velocities,
        f"labelme annotation {path.name}",
        path,
        empty_mask_reason="no 'motion' polygon with an area",
    )


def _labelme_mapping(
    path: Path, document: dict, shape: tuple[int, int], scale: float, photo_size: tuple[int, int]
) -> "_PixelMapping":
    """The mapping from the annotation's pixels (imageWidth x imageHeight) to the working image."""
    height, width = shape
    if document.get("imageWidth") is None or document.get("imageHeight") is None:
        return _PixelMapping.from_scale(shape, scale)
    sizes = []
    for field in ("imageWidth", "imageHeight"):
        value = document[field]
        if not is_number(value) or value <= 0:
            raise Mom4dInputError(f"{path}: {field} must be a positive number of pixels, found {value!r}.")
        sizes.append(float(value))
    source_width, source_height = sizes
    if not _same_aspect((source_height, source_width), shape):
        raise Mom4dInputError(
            f"{path}: imageWidth x imageHeight = {source_width:g} x {source_height:g} does not have the aspect "
            f"ratio of the photo ({_photo_is(photo_size)}): the annotation belongs to another image, or to a "
            "cropped or rotated copy. Annotate this photo."
        )
    return _PixelMapping(source_size=(source_width, source_height), target_size=(width, height))


def _check_near_the_image(points: np.ndarray, mapping: "_PixelMapping", path: Path, where: str) -> None:
    """Refuse a shape with a point (annotation pixels) more than FAR_OUTSIDE_SIZES times the image's size outside it."""
    size = np.array(mapping.source_size)
    far = np.any((points < -FAR_OUTSIDE_SIZES * size) | (points > (1.0 + FAR_OUTSIDE_SIZES) * size), axis=1)
    if far.any():
        x, y = points[np.argmax(far)]
        raise Mom4dInputError(
            f"{path}: {where} has a point at ({x:.6g}, {y:.6g}), far outside the {size[0]:g} x {size[1]:g} image "
            f"(more than {FAR_OUTSIDE_SIZES:g} times its size beyond its edge); fix or delete the shape in labelme."
        )


def _motion_region(points: np.ndarray, shape_type: str, path: Path, where: str) -> np.ndarray:
    """The polygon of a labelme motion shape (a polygon, or a rectangle given by two corners)."""
    if shape_type == "rectangle":
        if len(points) != 2:
            raise Mom4dInputError(f"{path}: {where}.points: a rectangle needs 2 corner points, found {len(points)}.")
        (x0, y0), (x1, y1) = points
        return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    if shape_type != "polygon":
        raise Mom4dInputError(
            f"{path}: {where}.shape_type: a motion region must be a polygon (or a rectangle), found {shape_type!r}."
        )
    if len(points) < 3:
        raise Mom4dInputError(f"{path}: {where}.points: a motion polygon needs at least 3 points, found {len(points)}.")
    return points


# --- explicit mask and hints --------------------------------------------------------------------------------


def _from_mask_and_hints(
    mask_path: Path,
    hints_path: Path,
    shape: tuple[int, int],
    scale: float,
    hint_frames: float,
    photo_size: tuple[int, int],
) -> MotionInput:
    """Read a motion mask image and a JSON list of arrows in pixels of the original image."""
    mask = _read_mask(mask_path, shape, photo_size)
    document = read_json(hints_path)
    if not isinstance(document, list):
        raise Mom4dInputError(
            f"{hints_path}: expected a JSON list of arrows [[x0, y0, x1, y1], ...], found a "
            f"JSON {type(document).__name__}."
        )
    arrows = np.zeros((len(document), 4))
    for index, arrow in enumerate(document):
        if not (isinstance(arrow, list) and len(arrow) == 4 and all(is_number(value) for value in arrow)):
            raise Mom4dInputError(
                f"{hints_path}: [{index}] must be an arrow [x0, y0, x1, y1] of 4 numbers "
                f"(start -> end, pixels of the original image), found {_preview(arrow)}."
            )
        arrows[index] = arrow
    mapping = _PixelMapping.from_scale(shape, scale)
    starts, velocities = _arrows_to_hints(arrows, mapping, hint_frames, hints_path)
    return _sparse_motion(
        mask,
        starts,
        velocities,
        f"motion mask {mask_path.name} with hints {hints_path.name}",
        hints_path,
        empty_mask_reason=f"the motion mask {mask_path.name} is empty",
    )


def _read_mask(path: Path, shape: tuple[int, int], photo_size: tuple[int, int]) -> np.ndarray:
    """A mask image (nonzero = moving; alpha ignored) resized with nearest to `shape` (height, width)."""
    if not path.is_file():
        raise Mom4dInputError(f"Motion mask {path} not found.")
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise Mom4dInputError(f"Motion mask {path} could not be read as an image: use a PNG or JPEG.")
    if image.ndim == 3:
        image = image[..., :3].max(axis=2)
    if not _same_aspect(image.shape[:2], shape):
        raise Mom4dInputError(
            f"Motion mask {path} is {image.shape[1]} x {image.shape[0]}, which does not have the aspect ratio of "
            f"the photo ({_photo_is(photo_size)}): draw the mask on this photo."
        )
    moving = (image > 0).astype(np.uint8)
    return cv2.resize(moving, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST).astype(bool)


# --- dense flow ---------------------------------------------------------------------------------------------


def _from_flow(path: Path, shape: tuple[int, int], photo_size: tuple[int, int]) -> MotionInput:
    """Read a dense flow `.npy`, resize it to the working resolution and mask where it moves."""
    if not path.is_file():
        raise Mom4dInputError(f"Flow {path} not found.")
    try:
        flow = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as error:
        raise Mom4dInputError(f"Flow {path} could not be read as a numpy .npy array ({error}).") from error
    expected = f"(H, W, 2) with the photo's aspect ratio ({_photo_is(photo_size)}), dx, dy in pixels per frame"
    if flow.ndim != 3 or flow.shape[2] != 2 or not _same_aspect(flow.shape[:2], shape):
        raise Mom4dInputError(f"Flow {path} has shape {flow.shape}; expected {expected}.")
    if not np.issubdtype(flow.dtype, np.number):
        raise Mom4dInputError(f"Flow {path} holds {flow.dtype} values; expected numbers.")
    bad = int(np.count_nonzero(~np.isfinite(flow)))
    if bad:
        raise Mom4dInputError(f"Flow {path} contains {bad} NaN or infinite values.")
    _check_plausible_speed(
        float(np.linalg.norm(flow.astype(np.float64), axis=2).max(initial=0.0)),
        max(flow.shape[:2]),
        f"--flow {path}",
        "the flow must be in pixels per frame between consecutive frames (not per loop or per second)",
    )
    flow = resize_flow(flow.astype(np.float32), shape)
    mask = np.linalg.norm(flow, axis=2) > FLOW_MOTION_THRESHOLD
    if not mask.any():
        logger.warning(f"Flow {path} is zero everywhere: static scene.")
        return MotionInput.static(shape, f"flow {path.name} (static)")
    flow[~mask] = 0.0
    return MotionInput(
        mask=mask,
        hint_starts=np.zeros((0, 2), dtype=np.float32),
        hint_velocities=np.zeros((0, 2), dtype=np.float32),
        flow=flow,
        source=f"flow {path.name}",
    )


# --- shared pieces ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PixelMapping:
    """Maps pixel coordinates of a source frame (where the user drew) to the working image.

    Pixel centres sit at integer coordinates in both frames, so a point maps as (p + 0.5) * f - 0.5 and a
    displacement as v * f, with f the per-axis size ratio.
    """

    source_size: tuple[float, float]  # (width, height)
    target_size: tuple[int, int]  # (width, height)

    @classmethod
    def from_scale(cls, shape: tuple[int, int], scale: float) -> "_PixelMapping":
        """The mapping from the original image, `scale` = working / original, to a working image of `shape`."""
        height, width = shape
        return cls(source_size=(width / scale, height / scale), target_size=(width, height))

    @property
    def factors(self) -> np.ndarray:
        return np.array(self.target_size, dtype=np.float64) / np.array(self.source_size, dtype=np.float64)

    def points(self, points: np.ndarray) -> np.ndarray:
        return (points + 0.5) * self.factors - 0.5

    def vectors(self, vectors: np.ndarray) -> np.ndarray:
        return vectors * self.factors

    def inside_source(self, points: np.ndarray) -> np.ndarray:
        """True for the points (source pixels) within the source image's extent."""
        return np.all((points >= 0) & (points <= np.array(self.source_size)), axis=1)


def _arrows_to_hints(
    arrows: np.ndarray, mapping: _PixelMapping, hint_frames: float, path: Path
) -> tuple[np.ndarray, np.ndarray]:
    """Turn (N, 4) arrows [x0, y0, x1, y1] in source pixels into working-pixel starts and velocities.

    Arrows that start outside the image are dropped, with a warning.
    """
    starts, ends = arrows[:, :2], arrows[:, 2:]
    inside = mapping.inside_source(starts)
    if not inside.all():
        dropped = int(np.count_nonzero(~inside))
        logger.warning(f"{path}: {dropped} of {len(arrows)} hint(s) start outside the image and were dropped.")
    starts, ends = starts[inside], ends[inside]
    source_velocities = (ends - starts) / hint_frames
    _check_plausible_speed(
        float(np.linalg.norm(source_velocities, axis=1).max(initial=0.0)),
        max(mapping.source_size),
        f"The hint arrows of {path}",
        f"shorten the arrows or raise --hint-frames (now {hint_frames:g}: an arrow of L px moves L / {hint_frames:g} "
        "px per frame)",
    )
    return mapping.points(starts).astype(np.float32), mapping.vectors(source_velocities).astype(np.float32)


def _rasterise(polygons: list[np.ndarray], mapping: _PixelMapping, shape: tuple[int, int]) -> np.ndarray:
    """Fill the polygons (source pixels) into a bool mask of the working `shape`.

    A pixel is inside when the polygons cover at least half of it, measured on a SUPERSAMPLING x finer
    canvas. cv2.fillPoly also fills every pixel the outline passes through (so a polygon of zero area would
    still mark a line of pixels); on the fine canvas that adds about half a fine pixel along each edge, which
    the threshold discounts.
    """
    height, width = shape
    canvas = np.zeros((height * SUPERSAMPLING, width * SUPERSAMPLING), dtype=np.uint8)
    if polygons:
        fine_points = [(mapping.points(polygon) + 0.5) * SUPERSAMPLING - 0.5 for polygon in polygons]
        fixed_point = [
            np.round(points * (1 << SUBPIXEL_BITS)).astype(np.int32).reshape(-1, 1, 2) for points in fine_points
        ]
        cv2.fillPoly(canvas, fixed_point, 255, lineType=cv2.LINE_8, shift=SUBPIXEL_BITS)
    coverage = cv2.resize(canvas, (width, height), interpolation=cv2.INTER_AREA)
    return coverage >= 255 * (0.5 + 0.5 / SUPERSAMPLING)


def _sparse_motion(
    mask: np.ndarray, starts: np.ndarray, velocities: np.ndarray, source: str, path: Path, empty_mask_reason: str
) -> MotionInput:
    """A mask + hints MotionInput, or a static one (with a warning) when nothing would move."""
    if not mask.any():
        logger.warning(f"{path}: {empty_mask_reason}: static scene (nothing moves).")
        return MotionInput.static(mask.shape, f"{source} (static)")
    if len(starts) == 0:
        logger.warning(
            f"{path}: no hint arrow (inside the image) says how the masked region moves: static scene "
            "(nothing moves). Add lines labelled 'hint' from where the motion starts to where it goes."
        )
        return MotionInput.static(mask.shape, f"{source} (static)")
    return MotionInput(mask=mask, hint_starts=starts, hint_velocities=velocities, flow=None, source=source)


def _check_plausible_speed(fastest: float, long_side: float, what: str, advice: str) -> None:
    """Refuse motion faster than MAX_SPEED_FRACTION of the image's long side per frame (both in one pixel unit)."""
    if not fastest <= MAX_SPEED_FRACTION * long_side:  # also refuses NaN and infinity
        raise Mom4dInputError(
            f"{what}: the fastest motion is {fastest:.4g} px per frame, {100 * fastest / long_side:.3g} % of the "
            f"image's long side ({long_side:g} px); more than {100 * MAX_SPEED_FRACTION:g} % per frame is not "
            f"plausible motion: {advice}."
        )


def _photo_is(photo_size: tuple[int, int]) -> str:
    """The photo's (height, width) as users read it: "the photo is 4000 x 3000 (width x height)"."""
    return f"the photo is {photo_size[1]} x {photo_size[0]} (width x height)"


def _points(value: Any, path: Path, where: str) -> np.ndarray:
    """Validate a list of [x, y] number pairs into an (N, 2) float64 array."""
    if not isinstance(value, list) or not all(
        isinstance(point, list) and len(point) == 2 and all(is_number(coordinate) for coordinate in point)
        for point in value
    ):
        raise Mom4dInputError(f"{path}: {where} must be a list of [x, y] pairs of numbers, found {_preview(value)}.")
    return np.array(value, dtype=np.float64).reshape(-1, 2)


def _same_aspect(size: tuple[int, ...], shape: tuple[int, ...]) -> bool:
    """Whether `size` and `shape` (height, width first) have one aspect ratio, up to rounding and 1 %."""
    (small_height, small_width), (large_height, large_width) = sorted(
        [(float(size[0]), float(size[1])), (float(shape[0]), float(shape[1]))], key=lambda hw: hw[1]
    )
    if min(small_height, small_width, large_height, large_width) <= 0:
        return False
    expected_height = small_width * large_height / large_width
    return abs(small_height - expected_height) <= 1.0 + 0.01 * small_height


def _preview(value: Any, limit: int = 60) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _warn_ignored(options: dict[str, Path | None], because: str) -> None:
    given = [name for name, value in options.items() if value is not None]
    if given:
        logger.warning(f"Ignoring {', '.join(given)}: {because} takes precedence.")
