"""Binary PLY files of vertices with named scalar properties: point clouds and 3D Gaussian Splatting scenes.

One writer for both files mom4d produces: the dataset's coloured seed points (`x y z red green blue`) and the
exported Gaussians in the layout of the reference 3DGS code, which `ns-export gaussian-splat` also writes and
common splat viewers read. Floating-point properties are stored as `float`, uint8 ones as `uchar`, in the order
given, little-endian, one record per vertex.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

_PLY_TYPES = {np.dtype("<f4"): "float", np.dtype("u1"): "uchar"}


def _stored_dtype(values: np.ndarray) -> np.dtype:
    if values.dtype == np.uint8:
        return np.dtype("u1")
    if values.dtype.kind == "f":
        return np.dtype("<f4")
    raise ValueError(f"PLY properties must be float or uint8 arrays, got {values.dtype}")


def write_vertex_ply(path: Path, properties: Mapping[str, np.ndarray], comments: tuple[str, ...] = ()) -> None:
    """Write a binary little-endian PLY whose vertices carry `properties` (name -> 1-D array), in that order.

    Every array must have one value per vertex; float arrays are stored as float32 and uint8 arrays as uchar.
    """
    lengths = {values.shape for values in properties.values()}
    if len(lengths) > 1 or any(len(shape) != 1 for shape in lengths):
        raise ValueError(f"PLY properties must be 1-D arrays of one length, got shapes {sorted(lengths)}")
    count = next(iter(lengths))[0] if lengths else 0
    record = np.dtype([(name, _stored_dtype(values)) for name, values in properties.items()])
    vertices = np.empty(count, dtype=record)
    for name, values in properties.items():
        vertices[name] = values
    header = [
        "ply",
        "format binary_little_endian 1.0",
        *(f"comment {line}" for line in comments),
        f"element vertex {count}",
    ]
    header += [f"property {_PLY_TYPES[record[name]]} {name}" for name in properties]
    header.append("end_header")
    with open(path, "wb") as handle:
        handle.write(("\n".join(header) + "\n").encode("ascii"))
        handle.write(vertices.tobytes())


def write_point_ply(path: Path, xyz: np.ndarray, rgb: np.ndarray) -> None:
    """A PLY of coloured points: float32 `x y z` [N, 3] and uint8 `red green blue` [N, 3]."""
    names = ("x", "y", "z", "red", "green", "blue")
    columns = [*np.asarray(xyz, dtype=np.float32).T, *np.asarray(rgb, dtype=np.uint8).T]
    write_vertex_ply(path, dict(zip(names, columns)))
