"""Tests of Stable Diffusion inpainting and of the scene's progressive growth into the views' holes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pytest
import torch
import tyro
from learned_models import save_tiny_sd_inpaint

from dataparsers.dataset_format import INPAINTED_LEVEL, OBSERVED_LEVEL
from dataparsers.mom4d_dataparser import Mom4dDataParserConfig
from mom_nerfstudio.errors import Mom4dInputError
from mom_nerfstudio.synthesis.cameras import (
    intrinsics_from_fov,
    project_points,
    rotation_yaw_pitch,
    transform_points,
)
from mom_nerfstudio.synthesis.cli import SynthesizeCommand
from mom_nerfstudio.synthesis.depth import SKY_DEPTH
from mom_nerfstudio.synthesis.diffusion_inpaint import (
    DiffusionInpainter,
    DiffusionInpaintSettings,
    processing_size,
)
from mom_nerfstudio.synthesis.point_renderer import render_points
from mom_nerfstudio.synthesis.runner import SceneSynthesis
from mom_nerfstudio.synthesis.scene_growth import (
    InventedPoints,
    ViewRender,
    complete_with_invented,
    continue_depth_into_holes,
    grow_scene,
    lift_pixels,
)
from mom_nerfstudio.synthesis.stages import depth as depth_stage
from mom_nerfstudio.synthesis.stages import growth as growth_stage

if TYPE_CHECKING:
    from conftest import TinyLandscape

NUM_FRAMES = 3
COVERAGE = 0.5

pytestmark = pytest.mark.usefixtures("offline_models")


@pytest.fixture(scope="module")
def sd_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Stable Diffusion inpainting pipeline saved in a folder."""
    return save_tiny_sd_inpaint(tmp_path_factory.mktemp("sd") / "sd-inpaint")


# --- Stable Diffusion inpainting of one view ---------------------------------------------------------------------


def test_processing_size_keeps_the_aspect_at_the_native_long_side() -> None:
    assert processing_size(1024, 683, 512) == (512, 344)
    assert processing_size(683, 1024, 512) == (344, 512)
    assert processing_size(96, 64, 32) == (32, 24)


def test_inpainting_paints_the_holes_and_nothing_else(sd_model: Path) -> None:
    rgb = np.random.default_rng(0).uniform(0.0, 1.0, (40, 60, 3)).astype(np.float32)
    holes = np.zeros((40, 60), bool)
    holes[:, 45:] = True
    holes[10:14, 10:20] = True
    inpainter = DiffusionInpainter(DiffusionInpaintSettings(model=str(sd_model), steps=2), torch.device("cpu"))
    painted = inpainter(rgb * ~holes[..., None], holes, view_index=3)
    assert painted.shape == rgb.shape and painted.dtype == np.float32
    np.testing.assert_array_equal(painted[~holes], (rgb * ~holes[..., None])[~holes])
    assert painted[holes].min() >= 0.0 and painted[holes].max() <= 1.0
    assert painted[holes].std() > 0.0  # not the black the holes came in with, nor one flat colour
    np.testing.assert_array_equal(inpainter(rgb * ~holes[..., None], holes, view_index=3), painted)
    assert not np.array_equal(inpainter(rgb * ~holes[..., None], holes, view_index=4), painted)


def test_a_view_without_holes_is_returned_untouched(sd_model: Path) -> None:
    rgb = np.full((8, 8, 3), 0.25, np.float32)
    inpainter = DiffusionInpainter(DiffusionInpaintSettings(model=str(sd_model)), torch.device("cpu"))
    assert inpainter(rgb, np.zeros((8, 8), bool), 0) is rgb


# --- the depth of what is invented -------------------------------------------------------------------------------


def test_a_strip_at_the_image_edge_continues_each_rows_depth() -> None:
    ground = np.tile(1.0 / np.linspace(0.2, 1.0, 64)[:, None], (1, 40)).astype(np.float32)  # a ground plane
    holes = np.zeros(ground.shape, bool)
    holes[:, 30:] = True
    depth = continue_depth_into_holes(np.where(holes, np.inf, ground), holes)
    np.testing.assert_allclose(depth[2:-2, 30:], ground[2:-2, 30:], rtol=0.01)  # smoothing bends the ends a little
    np.testing.assert_array_equal(depth[~holes], ground[~holes])


def test_a_hole_beside_an_object_takes_the_background_depth() -> None:
    depth = np.full((20, 40), 10.0, np.float32)
    depth[:, :12] = 2.0  # an object on the left
    holes = np.zeros(depth.shape, bool)
    holes[:, 12:24] = True  # uncovered between it and the background
    continued = continue_depth_into_holes(np.where(holes, np.inf, depth), holes)
    np.testing.assert_allclose(continued[holes], 10.0, rtol=1e-5)


def test_a_view_without_any_depth_is_sky() -> None:
    holes = np.ones((6, 8), bool)
    assert (continue_depth_into_holes(np.full((6, 8), np.inf, np.float32), holes) == SKY_DEPTH).all()


def test_lifted_pixels_project_back_onto_themselves() -> None:
    intrinsics = intrinsics_from_fov(32, 24, 50.0)
    camera_to_world = torch.eye(4)
    camera_to_world[:3, :3] = rotation_yaw_pitch(15.0, -5.0)
    camera_to_world[:3, 3] = torch.tensor([0.3, -0.1, 0.2])
    mask = np.zeros((24, 32), bool)
    mask[3:9, 20:31] = True
    depth = np.random.default_rng(2).uniform(1.0, 30.0, (24, 32)).astype(np.float32)
    points = lift_pixels(mask, depth, intrinsics, camera_to_world)
    uv, z = project_points(transform_points(points, torch.linalg.inv(camera_to_world)), intrinsics)
    rows, cols = np.nonzero(mask)
    np.testing.assert_allclose(uv.numpy(), np.stack([cols + 0.5, rows + 0.5], axis=1), atol=1e-3)
    np.testing.assert_allclose(z.numpy(), depth[mask], rtol=1e-5)


# --- progressive growth -------------------------------------------------------------------------------------------


class Wall:
    """A textured wall 4 units ahead, seen by cameras turning right: each sees more of what the photo missed."""

    def __init__(self) -> None:
        self.intrinsics = intrinsics_from_fov(48, 32, 50.0)
        height, width = 32, 48
        ys, xs = np.mgrid[0:height, 0:width] + 0.5
        depth = np.full((height, width), 4.0, np.float32)
        self.points = lift_pixels(np.ones((height, width), bool), depth, self.intrinsics, torch.eye(4))
        self.rgb = torch.from_numpy(
            np.stack([xs / width, ys / height, np.full_like(xs, 0.5)], -1).reshape(-1, 3)
        ).float()
        self.world_to_cameras = torch.stack([torch.linalg.inv(self._turned(yaw)) for yaw in (0.0, 12.0, 24.0, 12.0)])

    @staticmethod
    def _turned(yaw: float) -> torch.Tensor:
        pose = torch.eye(4)
        pose[:3, :3] = rotation_yaw_pitch(yaw, 0.0)
        return pose

    def seen(self, index: int) -> ViewRender:
        """What the wall's own points show in view `index`."""
        render = render_points(transform_points(self.points, self.world_to_cameras[index]), self.rgb, self.intrinsics)
        return ViewRender(render.features, render.depth, render.weight.clamp(max=1.0))


def test_growth_invents_each_region_once_and_later_views_reuse_it() -> None:
    wall = Wall()
    calls: list[tuple[int, int]] = []

    def paint_by_view(rgb: np.ndarray, holes: np.ndarray, index: int) -> np.ndarray:
        calls.append((index, int(holes.sum())))
        return np.where(holes[..., None], np.float32(0.1 * (index + 1)), rgb)

    invented = grow_scene(wall.seen, wall.world_to_cameras, wall.intrinsics, paint_by_view, COVERAGE)
    painted = dict(calls)
    assert 0 not in painted  # the photo's own view has no hole
    assert painted[1] > 0 and 0 < painted[2] < painted[1] + 200  # the second turn adds only its new part
    assert 3 not in painted  # a view already seen (the first turn again) needs nothing new
    assert set(invented.view.tolist()) == {1, 2} and len(invented) == sum(painted.values())
    # Every view is now covered, and the second turn shows the first turn's content where both look.
    for index in range(4):
        shown = complete_with_invented(
            wall.seen(index), invented, wall.world_to_cameras[index], wall.intrinsics, COVERAGE
        )
        assert (shown.coverage >= COVERAGE).all()
    second = complete_with_invented(wall.seen(2), invented, wall.world_to_cameras[2], wall.intrinsics, COVERAGE)
    colours = np.round(second.rgb[..., 0].numpy(), 2)
    assert (colours == 0.2).sum() > 0 and (colours == 0.3).sum() > 0


def test_invented_points_lie_on_the_surface_they_continue() -> None:
    wall = Wall()
    invented = grow_scene(wall.seen, wall.world_to_cameras[:2], wall.intrinsics, lambda rgb, holes, i: rgb, COVERAGE)
    assert len(invented) > 0
    # The wall is the plane z = 4. Where it meets what the photo saw, the invented part continues it exactly; it
    # then keeps the border's depth along each row of the turned view, so it leaves the plane slowly.
    z = invented.points[:, 2].numpy()
    nearest_the_seam = np.argsort(invented.points[:, 0].numpy())[:32]
    np.testing.assert_allclose(z[nearest_the_seam], 4.0, rtol=0.02)
    np.testing.assert_allclose(z, 4.0, rtol=0.1)


def test_invented_points_never_hide_the_photos_points() -> None:
    wall = Wall()
    in_front = InventedPoints.empty().extended(wall.points[:500] * 0.5, torch.zeros((500, 3)), view=1)
    seen = wall.seen(0)
    shown = complete_with_invented(seen, in_front, wall.world_to_cameras[0], wall.intrinsics, COVERAGE)
    covered = seen.coverage >= COVERAGE
    assert torch.equal(shown.rgb[covered], seen.rgb[covered]) and torch.equal(shown.depth[covered], seen.depth[covered])


def test_earlier_inventions_win_over_later_ones() -> None:
    wall = Wall()
    nothing_seen = ViewRender(torch.zeros((32, 48, 3)), torch.full((32, 48), float("inf")), torch.zeros((32, 48)))
    first = InventedPoints.empty().extended(wall.points, torch.ones((len(wall.points), 3)), view=2)
    both = first.extended(wall.points * 0.5, torch.zeros((len(wall.points), 3)), view=5)  # nearer, but later
    shown = complete_with_invented(nothing_seen, both, wall.world_to_cameras[0], wall.intrinsics, COVERAGE)
    assert (shown.coverage >= COVERAGE).all() and torch.allclose(shown.rgb, torch.ones(3))


def test_invented_points_round_trip_through_the_cache_arrays() -> None:
    invented = InventedPoints.empty().extended(torch.rand(5, 3), torch.rand(5, 3), view=7)
    again = InventedPoints.from_arrays(invented.to_arrays())
    assert torch.equal(again.points, invented.points) and torch.equal(again.view, invented.view)


# --- the synthesis with --inpaint sd -------------------------------------------------------------------------------


def sd_config(landscape: TinyLandscape, cache_dir: Path, sd_model: Path, **overrides):
    options = {"inpaint": "sd", "inpaint_model": str(sd_model), "inpaint_steps": 2, "num_frames": NUM_FRAMES}
    return landscape.config(cache_dir, **{**options, **overrides})


@pytest.fixture(scope="module")
def grown(landscape: TinyLandscape, sd_model: Path, tmp_path_factory: pytest.TempPathFactory) -> SceneSynthesis:
    """One synthesis of the tiny photo with Stable Diffusion inpainting, and its dataset built."""
    folder = tmp_path_factory.mktemp("grown")
    photo = landscape.write(folder / "photo")
    synthesis = SceneSynthesis(photo, sd_config(landscape, folder / "cache", sd_model))
    synthesis.dataset()
    return synthesis


def read_grey(path: Path) -> np.ndarray:
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


def test_inpainted_views_have_no_unsupervised_holes_and_mark_what_was_invented(grown: SceneSynthesis) -> None:
    folder = grown.dataset().folder
    for view in ("r1o0", "r3o0", "r4o2"):
        confidence = read_grey(folder / "confidence" / f"{view}_t000.png")
        assert (confidence > 0).all()  # every pixel supervises
        assert (confidence == INPAINTED_LEVEL).any() and (confidence == OBSERVED_LEVEL).mean() > 0.2


def test_the_photos_view_stays_the_photo(grown: SceneSynthesis, landscape: TinyLandscape) -> None:
    folder = grown.dataset().folder
    image = cv2.cvtColor(cv2.imread(str(folder / "images" / "r0o0_t000.png")), cv2.COLOR_BGR2RGB).astype(int)
    assert np.abs(image - np.rint(landscape.rgb() * 255.0).astype(int)).max() <= 1
    assert (read_grey(folder / "confidence" / "r0o0_t000.png") == OBSERVED_LEVEL).all()


def test_invented_points_join_the_datasets_cloud_as_static_points(
    grown: SceneSynthesis, landscape: TinyLandscape
) -> None:
    with np.load(grown.dataset().folder / "points.npz") as points:
        xyz, rgb, velocity, moving = points["xyz"], points["rgb"], points["velocity"], points["moving"]
    num_pixels = landscape.width * landscape.height
    invented = grown.value("invented")
    num_invented = len(invented)
    assert num_invented > 0 and xyz.shape == velocity.shape == rgb.shape == (num_pixels + num_invented, 3)
    assert not velocity[num_pixels:].any() and not moving[num_pixels:].any()
    assert moving[:num_pixels].any() and np.isfinite(xyz).all()
    np.testing.assert_array_equal(rgb[num_pixels:], np.rint(invented.rgb.numpy() * 255.0).astype(np.uint8))


def test_only_what_telea_would_fill_changes(grown: SceneSynthesis, landscape: TinyLandscape, tmp_path: Path) -> None:
    telea = SceneSynthesis(grown.image_path, landscape.config(tmp_path / "cache", num_frames=NUM_FRAMES))
    observed = telea.result("views")["confidence"] == OBSERVED_LEVEL
    np.testing.assert_array_equal(grown.result("views")["rgb"][observed], telea.result("views")["rgb"][observed])
    np.testing.assert_array_equal(grown.result("views")["flows"], telea.result("views")["flows"])
    np.testing.assert_array_equal(grown.result("motion3d")["velocity"], telea.result("motion3d")["velocity"])


def fail(*args, **kwargs):
    raise AssertionError("the growth stage was recomputed")


def test_growth_is_cached_apart_from_the_motion(
    grown: SceneSynthesis, landscape: TinyLandscape, sd_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_dir = grown.cache.folder
    assert any(path.name.startswith("growth-") for path in cache_dir.iterdir())
    monkeypatch.setattr(growth_stage, "compute", fail)
    static = SceneSynthesis(grown.image_path, sd_config(landscape, cache_dir, sd_model, motion="none"))
    assert static.models_to_load() == []  # the growth is cached: no weights needed
    assert len(static.value("invented")) == len(grown.value("invented"))
    assert static.key("views") != grown.key("views")
    for change in (
        {"inpaint_prompt": "a snowy valley"},
        {"inpaint_seed": 1},
        {"inpaint_steps": 3},
        {"yaw_degrees": 15.0},
    ):
        assert SceneSynthesis(grown.image_path, sd_config(landscape, cache_dir, sd_model, **change)).key(
            "growth"
        ) != grown.key("growth")


def test_a_missing_inpainting_model_stops_the_synthesis_before_any_stage(
    landscape: TinyLandscape, landscape_photo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(depth_stage, "compute", fail)
    config = landscape.config(tmp_path / "cache", inpaint="sd", inpaint_model="mom4d-tests/no-such-inpainting-model")
    with pytest.raises(Mom4dInputError, match="mom4d-tests/no-such-inpainting-model.*hf download.*--inpaint telea"):
        SceneSynthesis(landscape_photo, config)


def test_zero_inpainting_steps_are_refused(landscape: TinyLandscape, landscape_photo: Path, tmp_path: Path) -> None:
    with pytest.raises(Mom4dInputError, match="--inpaint-steps"):
        SceneSynthesis(landscape_photo, landscape.config(tmp_path / "cache", inpaint="sd", inpaint_steps=0))


def test_both_commands_accept_the_inpainting_options() -> None:
    arguments = [
        "--inpaint",
        "sd",
        "--inpaint-model",
        "/models/sd",
        "--inpaint-prompt",
        "a lake",
        "--inpaint-seed",
        "4",
    ]
    command = tyro.cli(SynthesizeCommand, args=["photo.jpg", *arguments])
    parser_config = tyro.cli(Mom4dDataParserConfig, args=["--data", "photo.jpg", *arguments])
    for config in (command.synthesis, parser_config):
        assert (config.inpaint, config.inpaint_model, config.inpaint_prompt, config.inpaint_seed) == (
            "sd",
            "/models/sd",
            "a lake",
            4,
        )


def test_the_summary_records_the_inpainting_options(grown: SceneSynthesis) -> None:
    config = json.loads((grown.dataset().folder / "transforms.json").read_text())["mom4d"]["config"]
    assert config["inpaint"] == "sd" and config["inpaint_steps"] == 2 and config["inpaint_prompt"]
