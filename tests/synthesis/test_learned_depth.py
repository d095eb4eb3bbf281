"""Tests of the learned depth backends: conversions into the depth convention, tiny models, the depth stage."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
import torch
import tyro
from learned_models import (
    save_tiny_depth_anything,
    save_tiny_marigold,
    save_tiny_zoedepth,
)

from dataparsers.mom4d_dataparser import Mom4dDataParserConfig
from mom_nerfstudio.errors import Mom4dInputError
from mom_nerfstudio.synthesis import runner as synthesis_module
from mom_nerfstudio.synthesis.cli import SynthesizeCommand
from mom_nerfstudio.synthesis.depth import (
    SKY_DEPTH,
    depth_from_affine_depth,
    estimate_depth,
    learned_depth_model,
)
from mom_nerfstudio.synthesis.depth.learned import (
    MarigoldDepthEstimator,
    TransformersDepthEstimator,
    depth_from_prediction,
)
from mom_nerfstudio.synthesis.learned.loading import loaded_model_count
from mom_nerfstudio.synthesis.runner import SceneSynthesis
from mom_nerfstudio.synthesis.stages import depth as depth_stage

if TYPE_CHECKING:
    from conftest import TinyLandscape

HEIGHT, WIDTH = 24, 32

pytestmark = pytest.mark.usefixtures("offline_models")


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny saved models of each learned depth method (and a metric Depth Anything)."""
    folder = tmp_path_factory.mktemp("depth-models")
    return {
        "zoedepth": save_tiny_zoedepth(folder / "zoedepth"),
        "depth-anything": save_tiny_depth_anything(folder / "depth-anything"),
        "depth-anything-metric": save_tiny_depth_anything(folder / "depth-anything-metric", metric=True),
        "marigold": save_tiny_marigold(folder / "marigold"),
        "marigold-disparity": save_tiny_marigold(folder / "marigold-disparity", prediction_type="disparity"),
    }


def photo_with_sky() -> tuple[np.ndarray, np.ndarray]:
    """A small textured photo whose top third is sky."""
    rgb = np.random.default_rng(0).uniform(0.0, 1.0, (HEIGHT, WIDTH, 3)).astype(np.float32)
    sky = np.zeros((HEIGHT, WIDTH), bool)
    sky[: HEIGHT // 3] = True
    return rgb, sky


# --- conversions ------------------------------------------------------------------------------------------------


def test_affine_depth_puts_the_near_end_at_one_and_the_far_plane_at_the_sky_depth() -> None:
    values = np.linspace(0.2, 1.0, 100).reshape(10, 10)
    depth = depth_from_affine_depth(values)
    near = np.percentile(values, 1, method="lower")
    expected = 1.0 + (SKY_DEPTH - 1.0) * (values - near) / (1.0 - near)
    np.testing.assert_allclose(depth, np.clip(expected, 1.0, SKY_DEPTH), rtol=1e-6)
    assert depth.min() == 1.0 and depth.max() == SKY_DEPTH  # the far plane, 1.0, is the sky depth


def test_affine_depth_keeps_the_order_of_depths() -> None:
    values = np.random.default_rng(1).uniform(0.1, 0.6, (12, 12))
    depth = depth_from_affine_depth(values)
    assert np.percentile(depth, 1, method="lower") == 1.0
    in_order_of_values = depth.ravel()[np.argsort(values, axis=None)]
    assert (np.diff(in_order_of_values) >= 0).all()


def test_affine_depth_sends_sky_and_invalid_values_to_the_sky_depth() -> None:
    values = np.full((6, 6), 0.5)
    values[0, 0] = np.nan
    sky = np.zeros((6, 6), bool)
    sky[5] = True
    depth = depth_from_affine_depth(values, sky)
    assert depth[0, 0] == SKY_DEPTH and (depth[5] == SKY_DEPTH).all()
    assert (depth[1:5] == 1.0).all()


@pytest.mark.parametrize(
    ("kind", "near_sky", "scene"),
    [
        ("depth", 0.1, (2.0, 20.0)),  # metric depth (ZoeDepth) that puts the sky absurdly near
        ("disparity", 10.0, (0.05, 0.5)),  # disparity (Depth Anything) that puts the sky absurdly near
        ("affine_depth", 0.0, (0.05, 0.6)),  # affine depth (Marigold) that puts the sky at the near end
    ],
)
def test_a_model_that_puts_the_sky_near_changes_neither_the_sky_nor_the_scale(kind, near_sky, scene) -> None:
    low, high = scene
    prediction = np.tile(np.linspace(low, high, WIDTH), (HEIGHT, 1))
    sky = np.zeros((HEIGHT, WIDTH), bool)
    sky[:4] = True
    prediction[sky] = near_sky
    depth = depth_from_prediction(prediction, kind, sky)
    assert (depth[sky] == SKY_DEPTH).all()
    assert depth[~sky].min() == 1.0 and depth[~sky].max() > 1.5
    without_sky = depth_from_prediction(np.where(sky, high, prediction), kind, sky)
    np.testing.assert_array_equal(depth, without_sky)


def test_each_prediction_kind_keeps_the_scenes_depth_order() -> None:
    metric = np.tile(np.linspace(2.0, 20.0, WIDTH), (HEIGHT, 1))  # farther to the right
    no_sky = np.zeros((HEIGHT, WIDTH), bool)
    for kind, prediction in (("depth", metric), ("disparity", 1.0 / metric), ("affine_depth", metric / 40.0)):
        depth = depth_from_prediction(prediction, kind, no_sky)
        assert (np.diff(depth[0]) >= 0).all() and depth[0, -1] > depth[0, 0], kind
    # Metric depth and zero-shift disparity keep ratios: 10x farther stays 10x farther.
    np.testing.assert_allclose(depth_from_prediction(metric, "depth", no_sky)[0, -1], 10.0, rtol=1e-5)
    np.testing.assert_allclose(depth_from_prediction(1.0 / metric, "disparity", no_sky)[0, -1], 10.0, rtol=1e-5)


# --- tiny models through the user's code path -------------------------------------------------------------------


@pytest.mark.parametrize("method", ["zoedepth", "depth-anything", "marigold"])
def test_each_learned_method_gives_depth_in_the_convention(method: str, models: dict[str, Path]) -> None:
    rgb, sky = photo_with_sky()
    depth = estimate_depth(rgb, sky, method=method, model=str(models[method]))
    assert depth.shape == (HEIGHT, WIDTH) and depth.dtype == np.float32
    assert np.isfinite(depth).all() and depth.min() >= 1.0 and depth.max() <= SKY_DEPTH
    assert (depth[sky] == SKY_DEPTH).all()


@pytest.mark.parametrize(
    ("model", "expected_kind"),
    [
        ("zoedepth", "depth"),
        ("depth-anything", "disparity"),
        ("depth-anything-metric", "depth"),
        ("marigold", "affine_depth"),
        ("marigold-disparity", "disparity"),
    ],
)
def test_raw_predictions_have_the_photos_size_and_their_declared_kind(
    model: str, expected_kind: str, models: dict[str, Path]
) -> None:
    method = model.split("-metric")[0].split("-disparity")[0]
    spec = learned_depth_model(method, str(models[model]))
    estimator_class = MarigoldDepthEstimator if method == "marigold" else TransformersDepthEstimator
    estimator = estimator_class(model=spec, device=torch.device("cpu"), name=method)
    rgb, sky = photo_with_sky()
    prediction, kind = estimator.predict(rgb)
    assert prediction.shape == (HEIGHT, WIDTH) and prediction.dtype == np.float32
    assert kind == expected_kind
    np.testing.assert_array_equal(estimator.estimate(rgb, sky), depth_from_prediction(prediction, kind, sky))


def test_marigold_depth_is_reproducible(models: dict[str, Path]) -> None:
    rgb, sky = photo_with_sky()
    first = estimate_depth(rgb, sky, method="marigold", model=str(models["marigold"]))
    second = estimate_depth(rgb, sky, method="marigold", model=str(models["marigold"]))
    np.testing.assert_array_equal(first, second)


def test_the_model_is_loaded_once_for_several_images(models: dict[str, Path]) -> None:
    rgb, sky = photo_with_sky()
    for _ in range(2):
        estimate_depth(rgb, sky, method="depth-anything", model=str(models["depth-anything"]))
    assert loaded_model_count() == 1


# --- the depth stage -------------------------------------------------------------------------------------------


def fail(*args, **kwargs):
    raise AssertionError("the depth stage was recomputed")


def test_the_learned_depth_stage_is_cached_under_its_model(
    landscape: TinyLandscape,
    landscape_photo: Path,
    tmp_path: Path,
    models: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = landscape.config(tmp_path / "cache", depth="depth-anything", depth_model=str(models["depth-anything"]))
    first = SceneSynthesis(landscape_photo, config)
    depth = first.scene.depth
    assert depth.shape == (landscape.height, landscape.width) and (depth[first.scene.sky] == SKY_DEPTH).all()

    again = SceneSynthesis(landscape_photo, config)
    assert again.models_to_load() == []  # cached: no weights needed
    monkeypatch.setattr(depth_stage, "compute", fail)
    np.testing.assert_array_equal(again.scene.depth, depth)

    other_model = landscape.config(
        tmp_path / "cache", depth="depth-anything", depth_model=str(models["depth-anything-metric"])
    )
    assert SceneSynthesis(landscape_photo, other_model).key("depth") != first.key("depth")
    prior = landscape.config(tmp_path / "cache")
    assert SceneSynthesis(landscape_photo, prior).key("depth") != first.key("depth")


def test_a_missing_depth_model_stops_the_synthesis_before_any_stage(
    landscape: TinyLandscape, landscape_photo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(depth_stage, "compute", fail)
    config = landscape.config(tmp_path / "cache", depth="marigold", depth_model=str(tmp_path / "no-weights-here"))
    with pytest.raises(Mom4dInputError, match="no-weights-here.*does not exist.*--depth prior"):
        SceneSynthesis(landscape_photo, config)


def test_a_cached_dataset_needs_no_depth_model(
    landscape: TinyLandscape,
    landscape_photo: Path,
    tmp_path: Path,
    models: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = landscape.config(tmp_path / "cache", depth="zoedepth", depth_model=str(models["zoedepth"]), num_frames=2)
    built = SceneSynthesis(landscape_photo, config).dataset()
    monkeypatch.setattr(synthesis_module, "check_model", fail)
    monkeypatch.setattr(depth_stage, "compute", fail)
    again = SceneSynthesis(landscape_photo, config)
    assert again.models_to_load() == [] and again.dataset().folder == built.folder


def test_both_commands_accept_the_depth_options() -> None:
    arguments = ["--depth", "marigold", "--depth-model", "/models/marigold"]
    command = tyro.cli(SynthesizeCommand, args=["photo.jpg", *arguments])
    assert command.synthesis.depth == "marigold" and command.synthesis.depth_model == "/models/marigold"
    parser_config = tyro.cli(Mom4dDataParserConfig, args=["--data", "photo.jpg", *arguments])
    assert parser_config.depth == "marigold" and parser_config.depth_model == "/models/marigold"


def test_an_unknown_depth_method_is_refused(landscape: TinyLandscape, landscape_photo: Path, tmp_path: Path) -> None:
    with pytest.raises(Mom4dInputError, match="zoedepth, depth-anything, marigold"):
        _ = SceneSynthesis(landscape_photo, landscape.config(tmp_path / "cache", depth="midas")).scene
