"""End-to-end tests of the synthesis pipeline on a tiny landscape photo."""

from __future__ import annotations

import dataclasses
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pytest

from dataparsers.dataset_format import SynthesizedDataset
from mom_nerfstudio.errors import Mom4dInputError
from mom_nerfstudio.synthesis.config import SynthesisConfig
from mom_nerfstudio.synthesis.runner import SceneSynthesis
from mom_nerfstudio.synthesis.stages import OPTIONS_OUTSIDE_KEYS, STAGE_OPTIONS
from mom_nerfstudio.synthesis.stages import dataset as dataset_stage
from mom_nerfstudio.synthesis.stages import depth as depth_stage
from mom_nerfstudio.synthesis.stages import motion3d as motion3d_stage
from mom_nerfstudio.synthesis.stages import views as views_stage

if TYPE_CHECKING:
    from conftest import TinyLandscape

NUM_FRAMES = 4
NUM_VIEWS = 25
ORBIT_VIEWS = 5


@dataclass
class Run:
    """One synthesis and where it lies."""

    landscape: TinyLandscape
    photo: Path
    cache_dir: Path
    synthesis: SceneSynthesis
    dataset: SynthesizedDataset

    def config(self, **overrides) -> SynthesisConfig:
        """The run's options, changed by `overrides`, with the run's cache."""
        return self.landscape.config(self.cache_dir, **{"num_frames": NUM_FRAMES, **overrides})


@pytest.fixture(scope="module")
def run(landscape: TinyLandscape, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """One synthesis of the tiny photo with its labelme annotation, shared by the tests of this module."""
    folder = tmp_path_factory.mktemp("synthesis")
    photo = landscape.write(folder / "photo")
    cache_dir = folder / "cache"
    synthesis = SceneSynthesis(photo, landscape.config(cache_dir, num_frames=NUM_FRAMES))
    return Run(landscape, photo, cache_dir, synthesis, synthesis.dataset())


def read_rgb(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def read_grey(path: Path) -> np.ndarray:
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


def input_view_flow(synthesis: SceneSynthesis) -> np.ndarray:
    """The input view's 2D motion target (px/frame, HxWx2)."""
    return synthesis.result("views")["flows"][0].astype(np.float32)


def fail(*args, **kwargs):
    raise AssertionError("a cached stage was recomputed")


def forbid_recomputing_upstream_stages(monkeypatch: pytest.MonkeyPatch) -> None:
    for stage in (depth_stage, views_stage, motion3d_stage):
        monkeypatch.setattr(stage, "compute", fail)


def test_dataset_has_every_static_view_and_the_orbit_loops(run: Run) -> None:
    folder = run.dataset.folder
    frames = run.dataset.transforms["frames"]
    expected = NUM_VIEWS + ORBIT_VIEWS * (NUM_FRAMES - 1)
    assert folder.is_dir() and folder.parent == run.cache_dir
    assert len(frames) == expected
    assert len(list((folder / "images").glob("*.png"))) == expected
    assert len(list((folder / "confidence").glob("*.png"))) == expected
    assert len(list((folder / "motion_masks").glob("*.png"))) == NUM_VIEWS
    assert sum(frame["frame"] == 0 for frame in frames) == NUM_VIEWS
    animated = sorted({frame["view"] for frame in frames if frame["frame"] > 0})
    assert animated == ["r0o0", "r0o1", "r0o2", "r0o3", "r0o4"]
    assert run.dataset.transforms["mom4d"]["animated_views"] == animated
    assert run.dataset.num_frames == NUM_FRAMES
    for frame in frames:
        assert (folder / frame["file_path"]).is_file() and (folder / frame["mask_path"]).is_file()


def test_every_view_has_its_depth_and_the_input_view_has_the_photo_depth(run: Run) -> None:
    with np.load(run.dataset.folder / "depths.npz") as stored:
        depths = {name: stored[name].astype(np.float32) for name in stored.files}
    assert sorted(depths) == sorted(view.name for view in run.synthesis.scene.views)
    input_depth = depths[run.dataset.transforms["mom4d"]["input_view"]]
    np.testing.assert_allclose(input_depth, run.synthesis.scene.depth, rtol=2e-3)
    turned = depths["r1o0"]  # turned right: the right border saw no points
    assert (turned == 0).any() and (turned[turned > 0] >= 0.9).all()


def test_times_are_frame_over_loop_length(run: Run) -> None:
    for frame in run.dataset.transforms["frames"]:
        assert frame["time"] == pytest.approx(frame["frame"] / NUM_FRAMES)
        assert 0.0 <= frame["time"] < 1.0
    input_frames = [frame["frame"] for frame in run.dataset.transforms["frames"] if frame["view"] == "r0o0"]
    assert sorted(input_frames) == list(range(NUM_FRAMES))


def test_input_view_at_time_0_is_the_photo_and_fully_trusted(run: Run) -> None:
    image = read_rgb(run.dataset.folder / "images" / "r0o0_t000.png").astype(int)
    photo = np.rint(run.landscape.rgb() * 255.0).astype(int)
    assert np.abs(image - photo).max() <= 1
    confidence = read_grey(run.dataset.folder / "confidence" / "r0o0_t000.png")
    assert (confidence == 255).all()


def test_turned_views_mark_their_filled_holes(run: Run) -> None:
    # Turning away from the input view uncovers the border the photo never saw: filled, trusted less.
    confidence = read_grey(run.dataset.folder / "confidence" / "r1o0_t000.png")
    assert (confidence == 128).any() and (confidence == 255).mean() > 0.5
    assert set(np.unique(confidence)) <= {0, 128, 255}


def test_water_moves_and_the_rest_stays(run: Run) -> None:
    folder = run.dataset.folder
    mask = read_grey(folder / "motion_masks" / "r0o0.png") > 0
    assert np.array_equal(mask, run.synthesis.motion.mask)
    assert mask[run.landscape.water_top_row + 2 :].mean() > 0.95 and not mask[: run.landscape.water_top_row - 1].any()
    first = read_rgb(folder / "images" / "r0o0_t000.png").astype(int)
    water = cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    still = ~cv2.dilate(mask.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    for index in range(1, NUM_FRAMES):
        frame = read_rgb(folder / "images" / f"r0o0_t{index:03d}.png").astype(int)
        assert np.abs(frame - first)[water].mean() > 5.0
        assert np.array_equal(frame[still], first[still])


def test_points_carry_the_fitted_motion(run: Run) -> None:
    with np.load(run.dataset.folder / "points.npz") as points:
        xyz, rgb, velocity, moving = points["xyz"], points["rgb"], points["velocity"], points["moving"]
    num_pixels = run.landscape.width * run.landscape.height
    assert xyz.shape == velocity.shape == rgb.shape == (num_pixels, 3) and moving.shape == (num_pixels,)
    moving = moving > 0.5
    assert np.array_equal(moving.reshape(run.synthesis.motion.mask.shape), run.synthesis.motion.mask)
    assert not velocity[~moving].any()
    # The water flows right (+x in the dataset's world) and stays level (z up).
    assert (velocity[moving, 0] > 0).mean() > 0.95
    assert np.abs(velocity[moving, 2]).mean() < 0.2 * velocity[moving, 0].mean()
    # Everything lies in front of the camera (+y forward in the dataset's world).
    assert (xyz[:, 1] > 0).all()


def test_input_view_motion_is_the_annotated_speed(run: Run) -> None:
    flow = input_view_flow(run.synthesis)
    mask = run.synthesis.motion.mask
    assert np.allclose(flow[mask, 0], run.landscape.hint_speed, atol=0.01)
    assert np.allclose(flow[mask, 1], 0.0, atol=0.01)
    assert not flow[~mask].any()


def test_fit_does_not_increase_the_inconsistency(run: Run) -> None:
    summary = run.dataset.transforms["mom4d"]
    assert summary["inconsistency_after"] <= summary["inconsistency_before"] + 1e-6


def test_cache_holds_each_stage(run: Run) -> None:
    stages = {path.name.split("-")[0] for path in run.cache_dir.iterdir()}
    assert stages == {"dataset", "depth", "motion3d", "segmentation", "views"}  # and no temporary or probe file left


def test_second_synthesis_reuses_every_stage(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    forbid_recomputing_upstream_stages(monkeypatch)
    monkeypatch.setattr(dataset_stage, "write", fail)
    transforms = run.dataset.folder / "transforms.json"
    written_at = transforms.stat().st_mtime_ns
    again = SceneSynthesis(run.photo, run.config()).dataset()
    assert again.folder == run.dataset.folder
    assert again.transforms == run.dataset.transforms
    assert transforms.stat().st_mtime_ns == written_at


def test_another_loop_length_reuses_the_upstream_stages(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    forbid_recomputing_upstream_stages(monkeypatch)
    longer = SceneSynthesis(run.photo, run.config(num_frames=5)).dataset()
    assert longer.folder != run.dataset.folder
    assert longer.num_frames == 5
    assert len(longer.transforms["frames"]) == NUM_VIEWS + ORBIT_VIEWS * 4
    assert {frame["time"] for frame in longer.transforms["frames"]} == {0.0, 0.2, 0.4, 0.6, 0.8}


def test_animating_only_the_input_view(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    forbid_recomputing_upstream_stages(monkeypatch)
    config = run.config(animated_views="input")
    dataset = SceneSynthesis(run.photo, config).dataset()
    assert len(dataset.transforms["frames"]) == NUM_VIEWS + NUM_FRAMES - 1
    assert dataset.transforms["mom4d"]["animated_views"] == ["r0o0"]


def test_force_recomputes_every_stage_once(run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache_dir = tmp_path / "cache"
    shutil.copytree(run.cache_dir, cache_dir)
    calls = []

    def recording(name: str, function):
        def wrapper(*args, **kwargs):
            calls.append(name)
            return function(*args, **kwargs)

        return wrapper

    for stage in (depth_stage, views_stage, motion3d_stage):
        monkeypatch.setattr(stage, "compute", recording(stage.NAME, stage.compute))
    monkeypatch.setattr(dataset_stage, "write", recording(dataset_stage.NAME, dataset_stage.write))
    dataset = SceneSynthesis(run.photo, run.landscape.config(cache_dir, num_frames=NUM_FRAMES, force=True)).dataset()
    assert calls == ["depth", "views", "motion3d", "dataset"]  # each once, in order
    assert dataset.folder.name == run.dataset.folder.name
    assert len(dataset.transforms["frames"]) == NUM_VIEWS + ORBIT_VIEWS * (NUM_FRAMES - 1)


def test_motion_none_gives_a_static_dataset(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(depth_stage, "compute", fail)  # the depth does not depend on the motion
    synthesis = SceneSynthesis(run.photo, run.config(motion="none"))
    dataset = synthesis.dataset()
    assert len(dataset.transforms["frames"]) == NUM_VIEWS
    assert all(frame["frame"] == 0 for frame in dataset.transforms["frames"])
    assert dataset.transforms["mom4d"]["animated_views"] == []
    with np.load(dataset.folder / "points.npz") as points:
        assert not points["velocity"].any() and not points["moving"].any()


def test_a_photo_without_annotation_is_animated_automatically(landscape: TinyLandscape, tmp_path: Path) -> None:
    photo = landscape.write(tmp_path / "photo", annotate=False)
    synthesis = SceneSynthesis(photo, landscape.config(tmp_path / "cache"))
    assert synthesis.motion.source.startswith("automatic")


def test_a_dense_flow_drives_the_motion(landscape: TinyLandscape, tmp_path: Path) -> None:
    photo = landscape.write(tmp_path / "photo", annotate=False)
    flow = np.zeros((landscape.height, landscape.width, 2), np.float32)
    flow[landscape.water_top_row :] = (0.8, 0.1)
    np.save(tmp_path / "flow.npy", flow)
    synthesis = SceneSynthesis(photo, landscape.config(tmp_path / "cache", flow=tmp_path / "flow.npy"))
    dataset = synthesis.dataset()
    assert synthesis.motion.source == "flow flow.npy"
    assert np.allclose(input_view_flow(synthesis), flow, atol=1e-3)
    assert len(dataset.transforms["frames"]) == NUM_VIEWS + ORBIT_VIEWS * (NUM_FRAMES - 1)
    velocity, moving = synthesis.result("motion3d")["velocity"], synthesis.scene.moving.numpy()
    assert (velocity[moving, 0] > 0).all() and not velocity[~moving].any()


def test_a_one_frame_loop_is_refused(landscape: TinyLandscape, landscape_photo: Path, tmp_path: Path) -> None:
    with pytest.raises(Mom4dInputError, match="--num-frames"):
        SceneSynthesis(landscape_photo, landscape.config(tmp_path / "cache", num_frames=1))


def test_transforms_json_on_disk_matches_the_returned_summary(run: Run) -> None:
    on_disk = json.loads((run.dataset.folder / "transforms.json").read_text())
    assert on_disk == run.dataset.transforms
    assert on_disk["mom4d"]["input_view"] == "r0o0"
    assert on_disk["mom4d"]["motion_source"] == "labelme annotation photo.json"


def test_an_absurd_flow_is_refused_before_any_stage_runs(landscape: TinyLandscape, tmp_path: Path) -> None:
    photo = landscape.write(tmp_path / "photo", annotate=False)
    flow = np.zeros((landscape.height, landscape.width, 2), np.float32)
    flow[landscape.water_top_row :] = (1e6, 0.0)  # beyond float16, in which the views cache their motion
    np.save(tmp_path / "flow.npy", flow)
    with pytest.raises(Mom4dInputError, match=r"--flow .*flow\.npy: the fastest motion is 1e\+06 px per frame"):
        SceneSynthesis(photo, landscape.config(tmp_path / "cache", flow=tmp_path / "flow.npy"))
    assert not any((tmp_path / "cache").glob("*-*"))


def test_transparent_pixels_composited_on_white_do_not_move(landscape: TinyLandscape, tmp_path: Path) -> None:
    from mom_nerfstudio.synthesis.segmentation import detect_sky

    pixels = np.dstack([np.rint(landscape.rgb() * 255.0), np.full((landscape.height, landscape.width), 255.0)])
    pixels[:, 2 * landscape.width // 3 :, 3] = 0  # a cut-out: the right third is transparent
    photo = tmp_path / "cutout.png"
    cv2.imwrite(str(photo), cv2.cvtColor(pixels.astype(np.uint8), cv2.COLOR_RGBA2BGRA))
    synthesis = SceneSynthesis(photo, landscape.config(tmp_path / "cache", alpha_mode="white"))
    transparent = synthesis.image.transparent
    assert transparent is not None and transparent[:, -1].all() and not transparent[:, 0].any()
    assert detect_sky(synthesis.image.rgb)[transparent].any()  # the white is taken for sky ...
    assert synthesis.motion.source.startswith("automatic")
    assert not synthesis.motion.mask[transparent].any()  # ... but never moves
    assert synthesis.motion.mask[: landscape.horizon_row, 0].any()  # the real sky still does


def test_every_option_reaches_a_stage_key_or_is_declared_outside_them() -> None:
    options = {option.name for option in dataclasses.fields(SynthesisConfig)}
    read_by_stages = set().union(*STAGE_OPTIONS.values())
    assert read_by_stages <= options  # no stage declares an option that does not exist
    assert options - read_by_stages == set(OPTIONS_OUTSIDE_KEYS)  # an option nobody reads is a forgotten one
    assert not read_by_stages & set(OPTIONS_OUTSIDE_KEYS)


@pytest.mark.parametrize(
    ("option", "value", "changed", "unchanged"),
    [
        ("num_frames", 6, "dataset", "motion3d"),
        ("motion_ray_damping", 0.5, "motion3d", "views"),
        ("fov_degrees", 40.0, "views", "depth"),
        ("alpha_mode", "mask", "depth", None),
        ("device", "cpu", None, "dataset"),
    ],
)
def test_an_option_changes_the_key_of_the_stage_that_reads_it_and_of_those_after(
    landscape: TinyLandscape, landscape_photo: Path, tmp_path: Path, option: str, value: object, changed, unchanged
) -> None:
    base = SceneSynthesis(landscape_photo, landscape.config(tmp_path / "cache"))
    other = SceneSynthesis(landscape_photo, landscape.config(tmp_path / "cache", **{option: value}))
    if changed is not None:
        assert base.key(changed) != other.key(changed)
        assert base.key("dataset") != other.key("dataset")
    if unchanged is not None:
        assert base.key(unchanged) == other.key(unchanged)


def test_the_loop_length_changes_the_views_only_when_the_motion_is_automatic(
    landscape: TinyLandscape, tmp_path: Path
) -> None:
    """The automatic motion's speeds are shares of the frame per loop: another loop length is another motion."""
    from mom_nerfstudio.synthesis.keys import StageKeys

    annotated = landscape.write(tmp_path / "annotated", annotate=True)
    automatic = landscape.write(tmp_path / "automatic", annotate=False)
    for photo, changes in ((annotated, False), (automatic, True)):
        short = StageKeys(photo, landscape.config(tmp_path / "cache", num_frames=6))
        long = StageKeys(photo, landscape.config(tmp_path / "cache", num_frames=12))
        assert (short.key("views") != long.key("views")) is changes
        assert short.key("depth") == long.key("depth")
