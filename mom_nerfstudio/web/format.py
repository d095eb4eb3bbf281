"""The web scene's files: `scene.json` (a header) and `scene.bin` (quantised arrays at the offsets it names).

The layout, which `docs/web_format.md` documents for readers in other languages: the Gaussians come moving first,
then still; every one has a 16-bit position within the scene's bounds, 8-bit colour and opacity, 8-bit log-scales
within one range and an 8-bit unit quaternion. The moving ones also have, per pose, an 8-bit position within their
own box (the box their poses span, in float32) and, when their shape changes, an 8-bit quaternion and log-scales.
Sections start at multiples of 4 bytes, little-endian.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mom_nerfstudio.atomic import atomic_file
from mom_nerfstudio.web.bake import BakedLoop

FORMAT_NAME = "mom4d-web"
FORMAT_VERSION = 1
HEADER_FILE = "scene.json"
DATA_FILE = "scene.bin"
_DTYPES = {"u8": np.uint8, "i8": np.int8, "u16": np.dtype("<u2"), "f32": np.dtype("<f4")}
_ALIGNMENT = 4


def _section_bytes(shape: tuple[int, ...], dtype: str) -> int:
    return int(np.prod(shape, dtype=np.int64)) * np.dtype(_DTYPES[dtype]).itemsize


def _aligned(size: int) -> int:
    return -(-size // _ALIGNMENT) * _ALIGNMENT


def section_shapes(total: int, moving: int, poses: int, with_shapes: bool) -> dict[str, tuple[tuple[int, ...], str]]:
    """Every section's shape and dtype for a scene of `total` Gaussians, `moving` of them with `poses` poses."""
    shapes = {
        "positions": ((total, 3), "u16"),
        "colours": ((total, 4), "u8"),
        "log_scales": ((total, 3), "u8"),
        "rotations": ((total, 4), "i8"),
        "pose_boxes": ((moving, 6), "f32"),
        "pose_positions": ((poses, moving, 3), "u8"),
    }
    if with_shapes:
        shapes["pose_rotations"] = ((poses, moving, 4), "i8")
        shapes["pose_log_scales"] = ((poses, moving, 3), "u8")
    return shapes


def encoded_size(total: int, moving: int, poses: int, with_shapes: bool) -> int:
    """Bytes of `scene.bin` for a scene of these counts."""
    return sum(
        _aligned(_section_bytes(shape, dtype))
        for shape, dtype in section_shapes(total, moving, poses, with_shapes).values()
    )


def loop_size(loop: BakedLoop) -> int:
    """Bytes of `scene.bin` for a baked loop."""
    return encoded_size(loop.means.shape[0], loop.moving, len(loop.pose_frames), loop.pose_quats is not None)


def _quantise(values: np.ndarray, low: np.ndarray, high: np.ndarray, levels: int) -> np.ndarray:
    extent = np.where(high > low, high - low, 1.0)
    return np.rint(np.clip((values - low) / extent, 0.0, 1.0) * levels)


def _dequantise(codes: np.ndarray, low: np.ndarray, high: np.ndarray, levels: int) -> np.ndarray:
    return low + codes.astype(np.float64) / levels * (high - low)


def encode(loop: BakedLoop, page: dict) -> tuple[dict, dict[str, np.ndarray]]:
    """The header and the quantised sections of a baked loop; `page` adds what the page needs besides the Gaussians
    (`camera`, `view_limits`, `fps`)."""
    moving = loop.moving
    all_means = np.concatenate([loop.means, loop.pose_means.reshape(-1, 3)])
    low, high = all_means.min(axis=0), all_means.max(axis=0)
    scale_sets = [loop.log_scales] + ([loop.pose_log_scales.reshape(-1, 3)] if loop.pose_log_scales is not None else [])
    scale_low = float(min(values.min() for values in scale_sets))
    scale_high = float(max(values.max() for values in scale_sets))
    box_low, box_high = loop.pose_means.min(axis=0), loop.pose_means.max(axis=0)
    sections = {
        "positions": _quantise(loop.means, low, high, 65535).astype("<u2"),
        "colours": np.rint(np.clip(np.concatenate([loop.colours, loop.opacities[:, None]], axis=1), 0, 1) * 255).astype(
            np.uint8
        ),
        "log_scales": _quantise(loop.log_scales, scale_low, scale_high, 255).astype(np.uint8),
        "rotations": np.rint(np.clip(loop.quats, -1, 1) * 127).astype(np.int8),
        "pose_boxes": np.concatenate([box_low, box_high], axis=1).astype("<f4").reshape(moving, 6),
        "pose_positions": _quantise(loop.pose_means, box_low[None], box_high[None], 255).astype(np.uint8),
    }
    if loop.pose_quats is not None and loop.pose_log_scales is not None:
        sections["pose_rotations"] = np.rint(np.clip(loop.pose_quats, -1, 1) * 127).astype(np.int8)
        sections["pose_log_scales"] = _quantise(loop.pose_log_scales, scale_low, scale_high, 255).astype(np.uint8)
    header = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "data_file": DATA_FILE,
        "counts": {"moving": moving, "still": loop.still},
        "loop": {"num_frames": loop.num_frames, "fps": page["fps"], "blend": loop.loop_blend},
        "background": loop.background,
        "bounds": {"min": low.tolist(), "max": high.tolist()},
        "log_scale_range": [scale_low, scale_high],
        "poses": {"frames": loop.pose_frames, "with_shapes": "pose_rotations" in sections},
        "camera": page["camera"],
        "view_limits": page["view_limits"],
        "sections": {},
    }
    return header, sections


def write_scene(folder: Path, header: dict, sections: dict[str, np.ndarray]) -> int:
    """Write `scene.bin` and `scene.json` (the header, completed with every section's offset) into `folder`; returns
    the size of `scene.bin` in bytes."""
    offset = 0
    layout = {}
    for name, values in sections.items():
        dtype = next(key for key, value in _DTYPES.items() if np.dtype(value) == values.dtype)
        layout[name] = {"offset": offset, "dtype": dtype, "shape": list(values.shape)}
        offset += _aligned(values.nbytes)
    header = {**header, "sections": layout}
    with atomic_file(Path(folder) / DATA_FILE) as temp_path, open(temp_path, "wb") as handle:
        for values in sections.values():
            data = np.ascontiguousarray(values).tobytes()
            handle.write(data + b"\0" * (_aligned(len(data)) - len(data)))
    with atomic_file(Path(folder) / HEADER_FILE) as temp_path:
        Path(temp_path).write_text(json.dumps(header, indent=1))
    return offset


@dataclass
class DecodedScene:
    """A web scene read back, dequantised as the page does: rest values of every Gaussian and the moving poses."""

    header: dict
    means: np.ndarray
    colours: np.ndarray
    opacities: np.ndarray
    log_scales: np.ndarray
    quats: np.ndarray
    pose_means: np.ndarray
    pose_quats: np.ndarray | None
    pose_log_scales: np.ndarray | None


def read_scene(folder: Path) -> DecodedScene:
    """Read the web scene in `folder`."""
    header = json.loads((Path(folder) / HEADER_FILE).read_text())
    data = (Path(folder) / header["data_file"]).read_bytes()

    def section(name: str) -> np.ndarray | None:
        entry = header["sections"].get(name)
        if entry is None:
            return None
        dtype = np.dtype(_DTYPES[entry["dtype"]])
        count = int(np.prod(entry["shape"], dtype=np.int64))
        return np.frombuffer(data, dtype=dtype, count=count, offset=entry["offset"]).reshape(entry["shape"])

    low, high = np.array(header["bounds"]["min"]), np.array(header["bounds"]["max"])
    scale_low, scale_high = header["log_scale_range"]
    colours = section("colours").astype(np.float64) / 255
    boxes = section("pose_boxes").astype(np.float64)
    pose_rotations, pose_scales = section("pose_rotations"), section("pose_log_scales")
    return DecodedScene(
        header=header,
        means=_dequantise(section("positions"), low, high, 65535),
        colours=colours[:, :3],
        opacities=colours[:, 3],
        log_scales=_dequantise(section("log_scales"), scale_low, scale_high, 255),
        quats=section("rotations").astype(np.float64) / 127,
        pose_means=_dequantise(section("pose_positions"), boxes[None, :, :3], boxes[None, :, 3:], 255),
        pose_quats=None if pose_rotations is None else pose_rotations.astype(np.float64) / 127,
        pose_log_scales=None if pose_scales is None else _dequantise(pose_scales, scale_low, scale_high, 255),
    )
