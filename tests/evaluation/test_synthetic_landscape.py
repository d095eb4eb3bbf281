"""The procedural landscape with analytic ground truth: scale, geometry, motion, annotation and cameras."""

import json
import math
import time
from dataclasses import replace

import cv2
import numpy as np
import pytest
import torch
from nerfstudio.cameras.cameras import Cameras

from evaluation.synthetic_annotation import (
    ANNOTATION_LONG_SIDE,
    HINT_ANGLE_ERROR,
    HINT_COUNT,
    HINT_LENGTH_ERROR,
    HINT_LENGTH_STEP,
)
from evaluation.synthetic_ground_truth import LandscapeGroundTruth
from evaluation.synthetic_landscape import (
    HINT_FRAMES,
    NORMALISATION_LONG_SIDE,
    LandscapeParams,
    build_scene,
    image_flow,
    input_camera,
    is_written,
    read_params,
    render,
    render_frames,
    write_scene,
)
from evaluation.synthetic_render import SKY, TERRAIN
from evaluation.synthetic_scene import DOME_RADIUS, TERRAIN_REACH
from mom_nerfstudio.synthesis.cameras import Intrinsics
from mom_nerfstudio.synthesis.depth.convention import SKY_DEPTH
from mom_nerfstudio.synthesis.motion.sources import resolve_motion_input

STREAM_SEED, LAKE_SEED = 0, 3  # LandscapeParams.random draws a stream for the first and a lake for the second


@pytest.fixture(scope="module")
def stream_params() -> LandscapeParams:
    params = LandscapeParams.random(STREAM_SEED)
    assert params.water_kind == "stream"
    return params


@pytest.fixture(scope="module")
def stream_scene(stream_params):
    return build_scene(stream_params)


def backward_warp(image: np.ndarray, flow: np.ndarray, frames: float) -> np.ndarray:
    """image(x - frames * flow(x)), bilinear: where the content seen at x after `frames` frames came from."""
    height, width = flow.shape[:2]
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    map_x, map_y = xs - frames * flow[..., 0], ys - frames * flow[..., 1]
    return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR)


def test_random_params_are_deterministic_and_varied(stream_params, stream_scene):
    assert LandscapeParams.random(STREAM_SEED) == stream_params
    lake = LandscapeParams.random(LAKE_SEED)
    assert lake.water_kind == "lake"
    for field in ("fov_degrees", "camera_height", "mountain_distance", "water_speed", "cloud_angular_velocity"):
        assert getattr(lake, field) != getattr(stream_params, field), field

    pose, intrinsics = input_camera(stream_params, 64)
    first = render(stream_scene, pose, intrinsics, 0.0)
    again, other = (render(build_scene(params), pose, intrinsics, 0.0) for params in (stream_params, lake))
    assert torch.equal(first.rgb, again.rgb) and torch.equal(first.depth, again.depth)  # rebuilt, same pixels
    assert (first.rgb - other.rgb).abs().mean() > 0.05
    assert (first.water_mask != other.water_mask).float().mean() > 0.05


def test_water_and_cloud_speeds_are_in_the_intended_range(stream_params, stream_scene):
    pose, intrinsics = input_camera(stream_params, 256)
    view = render(stream_scene, pose, intrinsics, 0.0)
    speeds = torch.linalg.norm(image_flow(view, pose, intrinsics), dim=-1) * 1024 / 256
    assert 0.5 <= float(speeds[view.water_mask].median()) <= 2.0
    assert 0.1 <= float(speeds[view.sky_mask].median()) <= 1.0
    assert view.water_mask.float().mean() > 0.01 and view.sky_mask.float().mean() > 0.08


def test_nearest_depth_is_normalised_to_one(stream_params, stream_scene):
    for long_side, tolerance in ((NORMALISATION_LONG_SIDE, 1e-5), (160, 0.02)):
        pose, intrinsics = input_camera(stream_params, long_side)
        view = render(stream_scene, pose, intrinsics, 0.0)
        nearest = np.percentile(view.depth[~view.sky_mask].numpy(), 1.0, method="lower")
        assert nearest == pytest.approx(1.0, abs=tolerance)
    assert 0.7 < stream_scene.scale < 1.4  # drawn cameras keep the scene close to its own units


def test_flat_ground_depth_matches_the_analytic_plane():
    params = LandscapeParams(
        ground_roughness=0.0,
        hill_height=0.0,
        mountain_height=0.0,
        water_kind="none",
        camera_height=0.3,
        camera_pitch_degrees=4.0,
    )
    scene = build_scene(params)
    pose, intrinsics = input_camera(params, 80)
    view = render(scene, pose, intrinsics, 0.0)

    # The camera's (z-depth 1) ray through every pixel centre, in the world.
    rows, cols = np.mgrid[0 : intrinsics.height, 0 : intrinsics.width] + 0.5
    camera_rays = np.stack(
        [(cols - intrinsics.cx) / intrinsics.fx, -(rows - intrinsics.cy) / intrinsics.fy, -np.ones_like(cols)], axis=-1
    )
    world_rays = camera_rays @ pose[:3, :3].T
    pitch = math.radians(params.camera_pitch_degrees)
    ground_up = np.array([0.0, -math.sin(pitch), math.cos(pitch)])  # the ground's normal in the level world frame
    camera_height = params.camera_height * scene.scale
    descent = world_rays @ ground_up
    with np.errstate(divide="ignore"):
        plane_depth = np.where(descent < 0, camera_height / -descent, np.inf)
    distance = plane_depth * np.linalg.norm(world_rays, axis=-1)
    ground, beyond_reach = distance < 0.99 * TERRAIN_REACH, distance > 1.01 * TERRAIN_REACH
    assert ground.mean() > 0.4 and beyond_reach.mean() > 0.2
    assert (view.surface.numpy()[ground] == TERRAIN).all() and (view.surface.numpy()[beyond_reach] == SKY).all()
    assert not view.water_mask.any()
    depth = view.depth.numpy()
    np.testing.assert_allclose(depth[ground], plane_depth[ground], rtol=1e-4)
    assert np.percentile(depth[ground], 1.0) == pytest.approx(1.0, abs=0.02)


def test_only_water_and_clouds_change_over_time(stream_params, stream_scene):
    pose, intrinsics = input_camera(stream_params, 96)
    before, after = (render(stream_scene, pose, intrinsics, time) for time in (0.0, 40.0))
    terrain = ~before.motion_mask
    assert terrain.any()
    assert torch.equal(before.rgb[terrain], after.rgb[terrain])
    assert torch.equal(before.depth, after.depth) and torch.equal(before.surface, after.surface)
    assert (before.rgb[before.water_mask] - after.rgb[before.water_mask]).abs().mean() > 0.02
    assert not before.velocity[terrain].any()
    assert before.velocity[before.motion_mask].norm(dim=-1).min() > 0


def test_water_texture_moves_by_the_true_image_flow(stream_params, stream_scene):
    pose, intrinsics = input_camera(stream_params, 160)
    first = render(stream_scene, pose, intrinsics, 0.0)
    flow = image_flow(first, pose, intrinsics).numpy()
    water = first.water_mask.numpy()
    frames = 2.0 / float(np.median(np.linalg.norm(flow[water], axis=-1)))  # a shift of about 2 px
    later = render(stream_scene, pose, intrinsics, frames).rgb.numpy()
    warped = backward_warp(first.rgb.numpy(), flow, frames)
    source_is_water = backward_warp(water.astype(np.float32), flow, frames) == 1.0
    core = cv2.erode(water.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool) & source_is_water
    assert core.sum() > 500
    unmoved_error = np.abs(first.rgb.numpy() - later)[core].mean()
    warped_error = np.abs(warped - later)[core].mean()
    assert unmoved_error > 0.03
    assert warped_error < 0.3 * unmoved_error
    # Neither half nor double the flow explains the change as well.
    for factor in (0.5, 2.0):
        assert np.abs(backward_warp(first.rgb.numpy(), flow, factor * frames) - later)[core].mean() > warped_error


@pytest.fixture(scope="module")
def written_scene(tmp_path_factory, stream_params):
    folder = tmp_path_factory.mktemp("landscape")
    return folder, write_scene(folder, stream_params, width=128, supersampling=1)


def test_scene_files_hold_the_truth_and_the_sky_lies_beyond_the_methods_sky_depth(
    written_scene, stream_params, stream_scene
):
    tmp_path, image_path = written_scene
    assert image_path == tmp_path / f"landscape_{STREAM_SEED:04d}.png"
    rgb = cv2.imread(str(image_path))
    true_mask = cv2.imread(str(tmp_path / "motion_mask.png"), cv2.IMREAD_GRAYSCALE) > 0
    sky = cv2.imread(str(tmp_path / "sky_mask.png"), cv2.IMREAD_GRAYSCALE) > 0
    flow = np.load(tmp_path / "flow.npy")
    depth, velocity = np.load(tmp_path / "depth.npy"), np.load(tmp_path / "velocity.npy")
    assert depth.shape == true_mask.shape == flow.shape[:2] == velocity.shape[:2] == rgb.shape[:2]
    assert velocity.shape[2] == 3 and depth.dtype == np.float32
    assert depth[~sky].max() <= TERRAIN_REACH
    # The dome is centred on the camera: the sky's z-depth is its radius times the cosine of the ray's angle.
    assert 3.0 * SKY_DEPTH < depth[sky].min() and depth[sky].max() <= DOME_RADIUS
    assert read_params(tmp_path) == stream_params
    assert is_written(tmp_path, stream_params, 128)  # the benchmark reuses it ...
    assert not is_written(tmp_path, stream_params, 96)  # ... but writes another size,
    assert not is_written(tmp_path, replace(stream_params, seed=STREAM_SEED + 1), 128)  # other parameters,
    assert not is_written(tmp_path / "elsewhere", stream_params, 128)  # or a missing scene again
    description = json.loads((tmp_path / "params.json").read_text())
    assert description["scale"] == stream_scene.scale


def test_annotation_is_drawn_like_a_users_near_but_not_on_the_truth(written_scene):
    tmp_path, image_path = written_scene
    rgb = cv2.cvtColor(cv2.imread(str(image_path)), cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
    true_mask = cv2.imread(str(tmp_path / "motion_mask.png"), cv2.IMREAD_GRAYSCALE) > 0
    flow = np.load(tmp_path / "flow.npy")
    document = json.loads(image_path.with_suffix(".json").read_text())
    assert max(document["imageWidth"], document["imageHeight"]) == ANNOTATION_LONG_SIDE  # drawn on the full photo
    polygons = [shape for shape in document["shapes"] if shape["shape_type"] == "polygon"]
    assert {shape["label"] for shape in polygons} == {"motion_water", "motion_sky"}
    assert all(3 <= len(shape["points"]) <= 40 for shape in polygons)  # clicks, not a traced outline

    motion = resolve_motion_input(image_path, rgb, scale=1.0)
    overlap = (motion.mask & true_mask).sum() / (motion.mask | true_mask).sum()
    assert 0.85 < overlap < 0.99
    assert 2 * HINT_COUNT[0] <= len(motion.hint_starts) <= 2 * HINT_COUNT[1]
    starts = motion.hint_starts.round().astype(int)
    assert true_mask[starts[:, 1], starts[:, 0]].all()
    true_hints = flow[starts[:, 1], starts[:, 0]]
    ratio = np.linalg.norm(motion.hint_velocities, axis=1) / np.linalg.norm(true_hints, axis=1)
    turn = np.arctan2(np.cross(true_hints, motion.hint_velocities), (true_hints * motion.hint_velocities).sum(1))
    # Rough: off in length and direction by at most the drawn errors, plus the rounding of the arrow's length to
    # HINT_LENGTH_STEP (at least one step) and of its ends to whole pixels of the annotated photo.
    true_length = HINT_FRAMES * np.linalg.norm(true_hints, axis=1) * ANNOTATION_LONG_SIDE / rgb.shape[1]
    rounding = (HINT_LENGTH_STEP / 2 + 1.5) / true_length
    assert (ratio <= np.maximum(HINT_LENGTH_ERROR + rounding, (HINT_LENGTH_STEP + 1.5) / true_length)).all()
    assert (ratio >= 1 / HINT_LENGTH_ERROR - rounding).all()
    assert (np.abs(turn) <= HINT_ANGLE_ERROR + np.arctan(1.5 / true_length)).all()
    assert np.abs(ratio - 1.0).max() > 0.05 and np.abs(turn).max() > math.radians(2.0)  # not the true flow


def test_ground_truth_reads_the_written_scene_and_renders_nerfstudio_cameras(written_scene, stream_params):
    folder, image_path = written_scene
    truth = LandscapeGroundTruth.load(folder, supersampling=1)
    pose, intrinsics = input_camera(stream_params, 128)
    view = render(truth.scene, pose, intrinsics, 0.0, supersampling=1)
    np.testing.assert_array_equal(truth.input_depth(), view.depth.numpy())
    np.testing.assert_array_equal(truth.input_velocity(), view.velocity.numpy())
    np.testing.assert_array_equal(truth.sky_mask(), view.sky_mask.numpy())
    np.testing.assert_array_equal(truth.input_motion_mask(), view.motion_mask.numpy())
    photo = cv2.cvtColor(cv2.imread(str(image_path)), cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
    assert np.abs(photo - view.rgb.numpy()).max() <= 0.5 / 255.0 + 1e-6

    small = Intrinsics(
        fx=intrinsics.fx / 4,
        fy=intrinsics.fy / 4,
        cx=16.0,
        cy=intrinsics.cy / 4,
        width=32,
        height=round(intrinsics.height / 4),
    )
    moved = pose.copy()
    moved[:3, 3] = [0.0, 0.1, 0.05]
    poses = torch.from_numpy(np.stack([pose, moved])[:, :3]).float()
    cameras = Cameras(
        camera_to_worlds=poses,
        fx=small.fx,
        fy=small.fy,
        cx=small.cx,
        cy=small.cy,
        width=small.width,
        height=small.height,
    )
    views = truth.frames(cameras, np.array([0.0, 7.0]))
    assert views.rgb.shape == (2, small.height, small.width, 3)
    assert views.motion_mask.shape == views.flow.shape[:3] == (2, small.height, small.width)
    expected = render(truth.scene, moved, small, 7.0, supersampling=1)
    np.testing.assert_allclose(views.rgb[1], expected.rgb.numpy(), atol=1e-5)  # Cameras hold float32 intrinsics
    assert (views.motion_mask[1] != expected.motion_mask.numpy()).mean() < 0.01
    expected_flow = image_flow(expected, moved, small).numpy()
    agree = views.motion_mask[1] == expected.motion_mask.numpy()
    np.testing.assert_allclose(views.flow[1][agree], expected_flow[agree], atol=1e-3)

    # Cameras that assume another lens still see the truth through the photo's own: the input pose sees the photo.
    wide = Cameras(
        camera_to_worlds=poses[:1],
        fx=small.fx * 0.7,
        fy=small.fy * 0.7,
        cx=small.cx,
        cy=small.cy,
        width=small.width,
        height=small.height,
    )
    np.testing.assert_allclose(truth.frames(wide, np.array([0.0])).rgb[0], views.rgb[0], atol=1e-6)


def test_depth_is_consistent_between_camera_poses(stream_params, stream_scene):
    pose, intrinsics = input_camera(stream_params, 96)
    view = render(stream_scene, pose, intrinsics, 0.0)
    # A moved and turned camera (world: z up): 0.1 right, 0.05 back, 0.08 up, yawed 6 degrees left.
    yaw = math.radians(6.0)
    turn = np.array([[math.cos(yaw), -math.sin(yaw), 0.0], [math.sin(yaw), math.cos(yaw), 0.0], [0.0, 0.0, 1.0]])
    moved = np.eye(4)
    moved[:3, :3] = turn @ pose[:3, :3]
    moved[:3, 3] = [0.1, -0.05, 0.08]

    rng = np.random.default_rng(0)
    candidates = np.argwhere(~view.sky_mask.numpy()[10:-10, 10:-10]) + 10
    checked = 0
    for row, col in candidates[rng.choice(len(candidates), 12, replace=False)]:
        depth = float(view.depth[row, col])
        camera_point = np.array(
            [
                (col + 0.5 - intrinsics.cx) / intrinsics.fx * depth,
                -(row + 0.5 - intrinsics.cy) / intrinsics.fy * depth,
                -depth,
            ]
        )
        world_point = pose[:3, :3] @ camera_point + pose[:3, 3]
        in_moved = moved[:3, :3].T @ (world_point - moved[:3, 3])
        expected_depth = -in_moved[2]
        u = in_moved[0] / expected_depth * intrinsics.fx + intrinsics.cx
        v = -in_moved[1] / expected_depth * intrinsics.fy + intrinsics.cy
        # A one-pixel image whose pixel centre looks exactly at the point.
        through_point = Intrinsics(
            fx=intrinsics.fx,
            fy=intrinsics.fy,
            cx=intrinsics.cx - u + 0.5,
            cy=intrinsics.cy - v + 0.5,
            width=1,
            height=1,
        )
        seen = float(render(stream_scene, moved, through_point, 0.0).depth[0, 0])
        if seen < expected_depth * 0.99:
            continue  # hidden behind something nearer in the moved view
        assert seen == pytest.approx(expected_depth, rel=1e-3)
        checked += 1
    assert checked >= 10


def test_render_frames_follows_poses_and_times(stream_params, stream_scene):
    pose, intrinsics = input_camera(stream_params, 48)
    shifted = pose.copy()
    shifted[:3, 3] = [0.05, 0.0, 0.0]
    frames = list(render_frames(stream_scene, [pose, shifted], [0.0, 4.0], intrinsics, supersampling=1))
    assert torch.equal(frames[0].rgb, render(stream_scene, pose, intrinsics, 0.0).rgb)
    assert torch.equal(frames[1].rgb, render(stream_scene, shifted, intrinsics, 4.0).rgb)
    with pytest.raises(ValueError):
        list(render_frames(stream_scene, [pose], [0.0, 1.0], intrinsics))


def test_supersampled_colour_keeps_centre_ray_ground_truth(stream_params, stream_scene):
    pose, intrinsics = input_camera(stream_params, 64)
    single = render(stream_scene, pose, intrinsics, 0.0, supersampling=1)
    double = render(stream_scene, pose, intrinsics, 0.0, supersampling=2)
    assert torch.equal(single.surface, double.surface)
    torch.testing.assert_close(single.depth, double.depth)
    assert 0.0 < (single.rgb - double.rgb).abs().mean() < 0.05


def test_params_round_trip_and_reject_unknown_fields(stream_params):
    assert LandscapeParams.from_dict(json.loads(json.dumps(stream_params.to_dict()))) == stream_params
    with pytest.raises(ValueError, match="colour"):
        LandscapeParams.from_dict({"colour": 1})


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_render_matches_cpu_and_is_fast(stream_params, stream_scene):
    gpu_scene = build_scene(stream_params, "cuda")
    pose, intrinsics = input_camera(stream_params, 96)
    cpu_view = render(stream_scene, pose, intrinsics, 3.0, supersampling=2)
    gpu_view = render(gpu_scene, pose, intrinsics, 3.0, supersampling=2)
    torch.testing.assert_close(gpu_view.rgb.cpu(), cpu_view.rgb, atol=1e-3, rtol=0)
    assert (gpu_view.surface.cpu() != cpu_view.surface).float().mean() < 1e-3

    pose, intrinsics = input_camera(replace(stream_params, aspect_ratio=16 / 9), 1024)
    render(gpu_scene, pose, intrinsics, 0.0, supersampling=2)  # warm-up
    torch.cuda.synchronize()
    start = time.perf_counter()
    render(gpu_scene, pose, intrinsics, 1.0, supersampling=2)
    torch.cuda.synchronize()
    assert time.perf_counter() - start < 1.0
