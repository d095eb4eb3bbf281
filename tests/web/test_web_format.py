"""Baking a loop and writing it in the web format: the poses are the model's copies, and quantisation keeps them
within their stated precision; the size budget gives up what it says, in order."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from model_fixtures import tiny_model
from web_fixtures import deforming_model, seed_camera

from mom_nerfstudio.errors import Mom4dInputError
from mom_nerfstudio.loop import loop_terms
from mom_nerfstudio.web.bake import bake_loop, pose_frames
from mom_nerfstudio.web.budget import fit_to_budget
from mom_nerfstudio.web.camera import default_limits, view_limits
from mom_nerfstudio.web.format import DATA_FILE, encode, loop_size, read_scene, write_scene

PAGE = {"fps": 30.0, "camera": seed_camera().header(), "view_limits": {"orbit_degrees": 5, "pan": 0.1, "zoom": [1, 3]}}


def test_pose_frames_span_both_copies_of_the_loop() -> None:
    assert pose_frames(8, 1) == [float(frame) for frame in range(-8, 9)]
    assert pose_frames(8, 3) == [-8.0, -5.0, -2.0, 1.0, 4.0, 7.0, 8.0]


@pytest.mark.parametrize("t", [0.25, 0.5])
def test_baked_poses_are_the_models_two_copies(t: float) -> None:
    model = deforming_model().eval()
    loop = bake_loop(model, seed_camera(), frame_step=1)
    moving_rows = torch.from_numpy(loop.source_rows[: loop.moving])
    forward, backward = model.gaussians_at(loop_terms(t, model.num_frames))
    for copy, frames in ((forward, t * model.num_frames), (backward, (t - 1) * model.num_frames)):
        pose = loop.pose_frames.index(frames)
        np.testing.assert_allclose(loop.pose_means[pose], copy["means"][moving_rows].detach().numpy(), atol=1e-6)
        quats = copy["quats"][moving_rows].detach()
        np.testing.assert_allclose(loop.pose_quats[pose], (quats / quats.norm(dim=-1, keepdim=True)).numpy(), atol=1e-6)
    # The tiny model's left half moves and its right half stands still.
    assert loop.moving == int((model.path_rows >= 0).sum())
    assert loop.pose_quats is not None and loop.pose_log_scales is not None


def test_a_scene_without_residual_stores_positions_only() -> None:
    loop = bake_loop(tiny_model(), seed_camera(), frame_step=2)
    assert loop.pose_quats is None and loop.pose_means.shape == (len(pose_frames(8, 2)), loop.moving, 3)


def test_written_scene_reads_back_within_its_quantisation(tmp_path) -> None:
    loop = bake_loop(deforming_model().eval(), seed_camera(), frame_step=1)
    header, sections = encode(loop, PAGE)
    size = write_scene(tmp_path, header, sections)
    assert size == loop_size(loop) == (tmp_path / DATA_FILE).stat().st_size
    scene = read_scene(tmp_path)
    extent = np.array(header["bounds"]["max"]) - np.array(header["bounds"]["min"])
    assert (np.abs(scene.means - loop.means) <= extent / 65535 / 2 + 1e-6).all()
    box = loop.pose_means.max(axis=0) - loop.pose_means.min(axis=0)
    assert (np.abs(scene.pose_means - loop.pose_means) <= box[None] / 255 / 2 + 1e-6).all()
    assert np.abs(scene.colours - loop.colours).max() <= 0.5 / 255 + 1e-9
    assert np.abs(scene.opacities - loop.opacities).max() <= 0.5 / 255 + 1e-9
    low, high = header["log_scale_range"]
    assert np.abs(scene.log_scales - loop.log_scales).max() <= (high - low) / 255 / 2 + 1e-6
    assert np.abs(scene.pose_quats - loop.pose_quats).max() <= 0.5 / 127 + 1e-6
    assert header["counts"] == {"moving": loop.moving, "still": loop.still}


def test_the_budget_first_gives_up_per_frame_shapes() -> None:
    loop = bake_loop(deforming_model().eval(), seed_camera(), frame_step=1)
    fitted = fit_to_budget(loop, loop_size(loop.without_pose_shapes()))
    assert fitted.loop.pose_quats is None and fitted.loop.still == loop.still
    assert len(fitted.given_up) == 1 and "rotations and scales" in fitted.given_up[0]


def test_the_budget_drops_the_lowest_opacity_still_gaussians_and_says_how_many() -> None:
    model = tiny_model()
    with torch.no_grad():
        model.gauss_params["opacities"].copy_(torch.linspace(-3, 3, model.num_points)[:, None])
    loop = bake_loop(model, seed_camera(), frame_step=2)
    budget = loop_size(loop) - 100 * 17  # about a hundred still Gaussians too many
    fitted = fit_to_budget(loop, budget)
    assert loop_size(fitted.loop) <= budget
    dropped = loop.still - fitted.loop.still
    assert 95 <= dropped <= 110
    assert (
        fitted.given_up == [fitted.given_up[0]] and f"{dropped} of {loop.still} still Gaussians" in fitted.given_up[0]
    )
    kept = set(fitted.loop.source_rows.tolist())
    still = loop.source_rows[loop.moving :]
    still_opacities = loop.opacities[loop.moving :]
    dropped_opacities = still_opacities[[row not in kept for row in still]]
    kept_opacities = still_opacities[[row in kept for row in still]]
    assert dropped_opacities.max() <= kept_opacities.min()
    assert fitted.loop.moving == loop.moving


def test_the_budget_refuses_a_scene_whose_moving_gaussians_alone_do_not_fit() -> None:
    loop = bake_loop(tiny_model(), seed_camera(), frame_step=1)
    with pytest.raises(Mom4dInputError, match=r"moving Gaussians over 17 poses need .*--max-megabytes.*--frame-step"):
        fit_to_budget(loop, 1000)


def test_the_view_limits_are_the_training_views_range() -> None:
    camera = seed_camera()
    pivot = camera.camera_to_world[:3, 3] - camera.camera_to_world[:3, 2] * camera.pivot_depth
    # A view orbited 4 degrees about the pivot (around the world's z, the camera's up), and one shifted sideways.
    angle = np.radians(4.0)
    turn = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    orbited = np.eye(4)
    orbited[:3, :3] = turn @ camera.camera_to_world[:3, :3]
    orbited[:3, 3] = pivot + turn @ (camera.camera_to_world[:3, 3] - pivot)
    shifted = camera.camera_to_world.copy()
    shifted[:3, 3] += [0.0, 0.0, 0.05]
    limits = view_limits(camera, [camera.camera_to_world, orbited, shifted])
    assert limits.orbit_degrees == pytest.approx(4.0, abs=1e-6)
    assert limits.pan == pytest.approx(max(0.05, camera.pivot_depth * np.sin(angle)), rel=1e-6)
    assert limits.zoom[0] == 1.0 and limits.zoom[1] > 1.0  # zooming in only
    assert view_limits(camera, [camera.camera_to_world]) == default_limits(camera)
