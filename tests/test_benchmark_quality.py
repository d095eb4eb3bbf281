"""The benchmark at CPU size on a procedural landscape with ground truth, held to quality floors.

The floors sit a margin below values measured on this benchmark (see each assertion), so that a change that
breaks the synthesis, the motion or the training shows up here, in CI, before any GPU run.
"""

from __future__ import annotations

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
    options = {f"pipeline.datamanager.dataparser.{key}": value for key, value in scene.synthesis_options.items()}
    config = configure(
        trainer_config(MOM4D, "cpu"), data=scene.photo, output_dir=folder / "runs", name=scene.name, device="cpu",
        **{"pipeline.datamanager.dataparser.cache_dir": folder / "cache"}, **options,
    )
    run = train(MOM4D.name, config)
    values = dict(evaluate.input_fidelity(run))
    values.update(evaluate.ground_truth_fidelity(evaluate.render_test_paths(run, stride=PATH_STRIDE), scene.truth))
    values.update(evaluate.motion_fidelity(run))
    values.update(evaluate.geometry_and_motion_errors(run, scene.truth))
    print(values)
    return values


def test_input_view_is_reproduced(measured: dict[str, float]) -> None:
    assert measured["input_psnr"] > 33.0  # measured 38.2 dB


def test_novel_views_match_the_ground_truth(measured: dict[str, float]) -> None:
    assert measured["gt_psnr"] > 25.0  # measured 29.8 dB
    assert measured["gt_ssim"] > 0.8  # measured 0.90
    assert measured["gt_psnr_masked"] > 25.0  # measured 30.3 dB


def test_the_loop_closes_and_follows_the_target_motion(measured: dict[str, float]) -> None:
    assert measured["loop_seam_255"] < 1.0
    assert measured["flow_epe"] < 0.5  # measured 0.10 px
