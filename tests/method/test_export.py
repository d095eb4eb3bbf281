"""Exporting the looping scene at a loop time as 3DGS PLY files, on a tiny model built from known seeds."""

from pathlib import Path

import numpy as np
import pytest
import torch
from model_fixtures import straight_path_metadata
from nerfstudio.data.scene_box import SceneBox
from plyfile import PlyData

from mom_nerfstudio.export import (
    export_sequence,
    export_time,
    scale_opacity_logits,
    sequence_times,
)
from mom_nerfstudio.model import Mom4dModel, Mom4dModelConfig

NUM_FRAMES = 4
SEED_OPACITY = 0.5
# Five seeds: the first two move (with the motion mask on), the other three are static.
XYZ = torch.tensor([[0.0, 2.0, 0.0], [0.5, 3.0, -0.2], [-0.5, 2.5, 0.3], [0.2, 4.0, 0.1], [-0.3, 3.5, -0.4]])
VELOCITY = torch.tensor([[0.1, 0.0, 0.0], [0.0, -0.05, 0.02], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
MOVING = torch.tensor([1.0, 1.0, 0.0, 0.0, 0.0])
RGB = torch.tensor([[255, 0, 0], [0, 255, 0], [0, 0, 255], [128, 128, 128], [10, 200, 30]], dtype=torch.uint8)


def tiny_model(sh_degree: int = 0) -> Mom4dModel:
    """A fresh Mom4dModel on the five seeds (its residual deformation starts at zero)."""
    metadata = {
        "points3D_xyz": XYZ.clone(),
        "points3D_rgb": RGB.clone(),
        "points3D_moving": MOVING.clone(),
        "points3D_footprint": torch.full((XYZ.shape[0],), 0.01),
        **straight_path_metadata(XYZ, VELOCITY, MOVING > 0, NUM_FRAMES),
        "num_frames": NUM_FRAMES,
        "loop_blend": "linear",
    }
    config = Mom4dModelConfig(
        sh_degree=sh_degree,
        seed_opacity=SEED_OPACITY,
        grid_spatial_resolution=4,
        grid_time_resolution=4,
        grid_components=2,
        deformation_width=4,
    )
    scene_box = SceneBox(aabb=torch.tensor([[-1.0, 1.0, -1.0], [1.0, 5.0, 1.0]]))
    model = config.setup(scene_box=scene_box, num_train_data=1, metadata=metadata)
    assert isinstance(model, Mom4dModel)
    return model.eval()


def read_vertices(path: Path) -> np.ndarray:
    """The vertex records of a PLY file."""
    return PlyData.read(str(path))["vertex"].data


def positions(vertices: np.ndarray) -> np.ndarray:
    return np.stack([vertices["x"], vertices["y"], vertices["z"]], axis=-1)


def logit(p: float) -> float:
    return float(np.log(p / (1.0 - p)))


def test_layout_matches_ns_export_gaussian_splat(tmp_path: Path) -> None:
    export_time(tiny_model(sh_degree=0), 0.0, tmp_path / "sh0.ply")
    export_time(tiny_model(sh_degree=1), 0.0, tmp_path / "sh1.ply")
    head = ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"]
    tail = ["opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"]
    assert list(read_vertices(tmp_path / "sh0.ply").dtype.names) == head + tail
    # Degree 1: three more coefficients per colour channel.
    assert list(read_vertices(tmp_path / "sh1.ply").dtype.names) == head + [f"f_rest_{i}" for i in range(9)] + tail
    assert all(read_vertices(tmp_path / "sh0.ply").dtype[name] == np.float32 for name in head + tail)


def test_time_zero_is_the_canonical_scene(tmp_path: Path) -> None:
    model = tiny_model()
    count = export_time(model, 0.0, tmp_path / "t0.ply")
    vertices = read_vertices(tmp_path / "t0.ply")
    assert count == len(vertices) == XYZ.shape[0]
    np.testing.assert_allclose(positions(vertices), XYZ.numpy(), atol=1e-6)
    np.testing.assert_allclose(vertices["opacity"], logit(SEED_OPACITY), atol=1e-5)
    np.testing.assert_allclose(vertices["scale_0"], np.log(0.01), atol=1e-5)
    np.testing.assert_allclose(vertices["rot_0"], 1.0)
    # Degree 0 stores colour logits; the file holds SH coefficients: rgb = 0.5 + C0 * f_dc.
    sh_c0 = 0.28209479177387814
    colours = 0.5 + sh_c0 * np.stack([vertices[f"f_dc_{i}"] for i in range(3)], axis=-1)
    np.testing.assert_allclose(colours, RGB.numpy() / 255.0, atol=2e-3)


@pytest.mark.parametrize("t", [0.25, 0.5])
def test_mid_loop_writes_moving_gaussians_once_per_render(tmp_path: Path, t: float) -> None:
    export_time(tiny_model(), t, tmp_path / "mid.ply")
    vertices = read_vertices(tmp_path / "mid.ply")
    moving = MOVING.numpy() > 0
    assert len(vertices) == XYZ.shape[0] + moving.sum()
    xyz, velocity = XYZ.numpy(), VELOCITY.numpy()
    # Static Gaussians first, once and at full opacity; then the forward render's moving copies, then the backward's.
    forward = xyz[moving] + t * NUM_FRAMES * velocity[moving]
    backward = xyz[moving] - (1 - t) * NUM_FRAMES * velocity[moving]
    expected_positions = np.concatenate([xyz[~moving], forward, backward])
    np.testing.assert_allclose(positions(vertices), expected_positions, atol=1e-6)
    opacities = 1.0 / (1.0 + np.exp(-vertices["opacity"]))
    static_count, moving_count = (~moving).sum(), moving.sum()
    expected_opacities = np.concatenate(
        [
            np.full(static_count, SEED_OPACITY),
            np.full(moving_count, SEED_OPACITY * (1 - t)),
            np.full(moving_count, SEED_OPACITY * t),
        ]
    )
    np.testing.assert_allclose(opacities, expected_opacities, atol=1e-5)
    # Colours and shapes travel with their copies.
    np.testing.assert_allclose(
        vertices["f_dc_0"][-moving.sum() :], vertices["f_dc_0"][-2 * moving.sum() : -moving.sum()]
    )


def test_learned_residual_deformation_is_exported(tmp_path: Path) -> None:
    model = tiny_model()
    with torch.no_grad():
        model.deformation.position_head.bias.copy_(torch.tensor([0.0, 0.0, 0.05]))
    export_time(model, 0.0, tmp_path / "deformed.ply")
    moving = MOVING.numpy() > 0
    expected = XYZ.numpy().copy()
    expected[moving, 2] += 0.05  # the residual deforms only what the motion mask lets move
    np.testing.assert_allclose(positions(read_vertices(tmp_path / "deformed.ply")), expected, atol=1e-6)


def test_sequence_covers_one_loop(tmp_path: Path) -> None:
    paths = export_sequence(tiny_model(), 3, tmp_path / "loop")
    assert [path.name for path in paths] == ["frame_000.ply", "frame_001.ply", "frame_002.ply"]
    assert sequence_times(3) == [0.0, 1 / 3, 2 / 3]
    moving = MOVING.numpy() > 0
    counts = [len(read_vertices(path)) for path in paths]
    assert counts == [XYZ.shape[0], XYZ.shape[0] + moving.sum(), XYZ.shape[0] + moving.sum()]
    second = positions(read_vertices(paths[1]))
    forward = XYZ.numpy()[moving] + (1 / 3) * NUM_FRAMES * VELOCITY.numpy()[moving]
    np.testing.assert_allclose(second[(~moving).sum() : (~moving).sum() + moving.sum()], forward, atol=1e-6)


def test_times_outside_the_loop_wrap(tmp_path: Path) -> None:
    model = tiny_model()
    export_time(model, 0.25, tmp_path / "a.ply")
    export_time(model, 1.25, tmp_path / "b.ply")
    np.testing.assert_array_equal(read_vertices(tmp_path / "a.ply"), read_vertices(tmp_path / "b.ply"))


def test_invisible_copies_are_left_out(tmp_path: Path) -> None:
    # At t = 0.001 the backward render weighs 0.001: its copies fall below the rasteriser's 1/255 opacity cut.
    count = export_time(tiny_model(), 0.001, tmp_path / "early.ply")
    assert count == XYZ.shape[0]


def test_scale_opacity_logits() -> None:
    logits = torch.tensor([[-3.0], [0.0], [2.5]])
    for weight in (1.0, 0.7, 0.01):
        scaled = scale_opacity_logits(logits, weight)
        torch.testing.assert_close(torch.sigmoid(scaled), torch.sigmoid(logits) * weight)
