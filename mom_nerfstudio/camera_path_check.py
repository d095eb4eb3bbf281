"""Checking a camera-path JSON for what `ns-render camera-path` reads from it, before it does.

`ns-render camera-path` reads the camera path itself, once the model has loaded, and stops with a traceback on a
file that is not JSON or lacks a field it reads. `mom4d-camera-paths --check FILE` reads the file the way ns-render
does and names what is wrong: the line and column of a syntax error, or the frame and field. It checks the fields
of nerfstudio's format (`nerfstudio.cameras.camera_paths.get_path_from_json` and ns-render's crop): `render_width`,
`render_height`, `seconds`, an optional `camera_type` and `crop`, and per frame of `camera_path` its
`camera_to_world` (16 numbers, row by row), its `fov` (vertical, in degrees; not read for 360-degree cameras) and its
optional `render_time`.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mom_nerfstudio.errors import Mom4dInputError
from mom_nerfstudio.json_files import is_number, read_json


@dataclass(frozen=True)
class CameraPathSummary:
    """What `ns-render camera-path` renders from a camera path that passed the check."""

    frames: int
    untimed_frames: int
    """Frames without a `render_time`; where there is one, ns-render renders every frame at t = 0."""
    seconds: float
    width: int
    height: int


def check_camera_path(path: Path) -> CameraPathSummary:
    """Check the camera-path JSON `path` as `ns-render camera-path` reads it; raises Mom4dInputError naming the file
    and what is wrong."""
    document = read_json(path)
    if not isinstance(document, dict):
        raise Mom4dInputError(
            f"{path}: a camera path is a JSON object (with 'camera_path', 'render_width', 'render_height' and "
            f"'seconds'), found {_kind(document)}."
        )
    width, height = (_positive_whole_number(document, name, path) for name in ("render_width", "render_height"))
    seconds = _field(document, "seconds", path)
    if not (is_number(seconds) and seconds > 0):
        raise Mom4dInputError(f"{path}: seconds must be the video's positive length in seconds, found {seconds!r}.")
    camera_type = document.get("camera_type", "perspective")
    if not isinstance(camera_type, str):
        raise Mom4dInputError(f"{path}: camera_type must be a string such as 'perspective', found {camera_type!r}.")
    _check_crop(document.get("crop"), path)
    frames = _field(document, "camera_path", path)
    if not isinstance(frames, list) or not frames:
        raise Mom4dInputError(f"{path}: camera_path must be a non-empty list of frames, found {_kind(frames)}.")
    timed = [_check_frame(frame, index, _reads_fov(camera_type), path) for index, frame in enumerate(frames)]
    return CameraPathSummary(
        frames=len(frames), untimed_frames=timed.count(False), seconds=float(seconds), width=width, height=height
    )


def _check_frame(frame: Any, index: int, reads_fov: bool, path: Path) -> bool:
    """Check `camera_path[index]`; returns whether it has a render_time."""
    where = f"camera_path[{index}]"
    if not isinstance(frame, dict):
        raise Mom4dInputError(f"{path}: {where} must be an object with 'camera_to_world' and 'fov'.")
    matrix = _field(frame, "camera_to_world", path, where)
    if not _is_4x4_matrix(matrix):
        raise Mom4dInputError(
            f"{path}: {where}.camera_to_world must be 16 numbers (the 4 x 4 camera-to-world matrix, row by row)."
        )
    if reads_fov:
        fov = _field(frame, "fov", path, where)
        if not (is_number(fov) and 0 < fov < 180):
            raise Mom4dInputError(
                f"{path}: {where}.fov must be the vertical field of view in degrees, between 0 and 180, found {fov!r}."
            )
    if "render_time" not in frame:
        return False
    if not is_number(frame["render_time"]):
        raise Mom4dInputError(
            f"{path}: {where}.render_time must be a number (a loop time; times outside [0, 1) wrap around), "
            f"found {frame['render_time']!r}."
        )
    return True


def _check_crop(crop: Any, path: Path) -> None:
    """Check the optional crop that ns-render applies (null or absent: none)."""
    if crop is None:
        return
    if not isinstance(crop, dict):
        raise Mom4dInputError(f"{path}: crop must be an object or null, found {_kind(crop)}.")
    colour = _field(crop, "crop_bg_color", path, "crop")
    if not (isinstance(colour, dict) and all(is_number(colour.get(channel)) for channel in "rgb")):
        raise Mom4dInputError(f"{path}: crop.crop_bg_color must be an object with numbers r, g and b (0 to 255).")
    for name in ("crop_center", "crop_scale", "crop_rot"):
        if name == "crop_rot" and name not in crop:
            continue
        value = _field(crop, name, path, "crop")
        if not (isinstance(value, list) and len(value) == 3 and all(is_number(number) for number in value)):
            raise Mom4dInputError(f"{path}: crop.{name} must be a list of 3 numbers.")


def _field(mapping: dict, name: str, path: Path, where: str | None = None) -> Any:
    """`mapping[name]`, or an error naming the object that lacks it."""
    if name not in mapping:
        raise Mom4dInputError(f"{path}: {where or 'the camera path'} has no '{name}', which ns-render reads.")
    return mapping[name]


def _positive_whole_number(document: dict, name: str, path: Path) -> int:
    value = _field(document, name, path)
    if not (is_number(value) and value > 0 and float(value).is_integer()):
        raise Mom4dInputError(f"{path}: {name} must be a positive whole number of pixels, found {value!r}.")
    return int(value)


def _is_4x4_matrix(value: Any) -> bool:
    """16 numbers, as a flat list (as nerfstudio's viewer writes them) or as 4 rows of 4."""
    if isinstance(value, list) and len(value) == 4 and all(isinstance(row, list) for row in value):
        value = [number for row in value for number in row]
    return isinstance(value, list) and len(value) == 16 and all(is_number(number) for number in value)


def _reads_fov(camera_type: str) -> bool:
    """Whether ns-render reads each frame's fov for this camera type (as nerfstudio compares the type's name)."""
    return camera_type != "equirectangular" and camera_type.lower() not in ("omnidirectional", "vr180")


def _kind(value: Any) -> str:
    """How a JSON value is described in a message: an empty list, or the JSON type of anything else."""
    if isinstance(value, list) and not value:
        return "an empty list"
    names = {dict: "object", list: "list", str: "string", bool: "boolean", int: "number", float: "number"}
    return f"a JSON {names.get(type(value), 'null')}"
