"""End-to-end training of a very small mom4d run on a CPU: two stages, resume, and loading for rendering."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from conftest import PROJECT_ROOT
from nerfstudio.cameras.cameras import Cameras
from nerfstudio.utils.eval_utils import eval_setup

from mom_nerfstudio.data import Mom4dDataManager
from mom_nerfstudio.method_config import mom4d_tiny_method

EXAMPLES = PROJECT_ROOT / "examples"
STATIC_STEPS = 20
TOTAL_STEPS = 50


def small_config(photo: Path, output_dir: Path, max_steps: int):
    config = copy.deepcopy(mom4d_tiny_method.config)
    dataparser = config.pipeline.datamanager.dataparser
    dataparser.data = photo
    dataparser.max_resolution = 48
    dataparser.num_frames = 24
    dataparser.cache_dir = output_dir / "cache"
    config.pipeline.model.static_steps = STATIC_STEPS
    config.pipeline.model.dynamic_steps = max_steps - STATIC_STEPS
    config.pipeline.model.warmup_length = 10
    config.pipeline.model.refine_every = 10
    config.steps_per_save = 25
    config.save_only_latest_checkpoint = False
    config.output_dir = output_dir
    config.machine.device_type = "cpu"
    config.vis = "tensorboard"
    config.set_timestamp()
    return config


def train(config):
    config.save_config()
    trainer = config.setup(local_rank=0, world_size=1)
    trainer.setup()
    return trainer


def mean_eval_psnr(pipeline) -> float:
    pipeline.eval()
    metrics = pipeline.get_average_eval_image_metrics()
    pipeline.train()
    return float(metrics["psnr"])


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("photo")
    for name in ("forest_stream.jpg", "forest_stream.json"):
        shutil.copy(EXAMPLES / name, folder / name)
    return folder / "forest_stream.jpg"


@pytest.fixture(scope="module")
def trained_run(photo, tmp_path_factory, monkeypatch_module):
    served: list[tuple[int, float]] = []
    original_next_train = Mom4dDataManager.next_train

    def recording_next_train(self, step):
        camera, batch = original_next_train(self, step)
        served.append((step, float(camera.times.reshape(-1)[0])))
        return camera, batch

    monkeypatch_module.setattr(Mom4dDataManager, "next_train", recording_next_train)
    config = small_config(photo, tmp_path_factory.mktemp("outputs"), TOTAL_STEPS)
    trainer = train(config)
    psnr_before = mean_eval_psnr(trainer.pipeline)
    trainer.train()
    psnr_after = mean_eval_psnr(trainer.pipeline)
    return {"config": config, "trainer": trainer, "served": served, "psnr": (psnr_before, psnr_after)}


@pytest.fixture(scope="module")
def monkeypatch_module():
    patcher = pytest.MonkeyPatch()
    yield patcher
    patcher.undo()


def test_static_stage_sees_only_t0_then_dynamic_stage_sees_the_videos(trained_run):
    served = trained_run["served"]
    assert all(time == 0.0 for step, time in served if step < STATIC_STEPS)
    assert any(time > 0.0 for step, time in served if step >= STATIC_STEPS)


def test_training_improves_the_fit(trained_run):
    before, after = trained_run["psnr"]
    assert after > before + 1.0, (before, after)  # measured: about 20.2 -> 22.1 dB


def test_checkpoints_resume_where_training_stopped(trained_run, tmp_path):
    config = trained_run["config"]
    checkpoint_dir = config.get_checkpoint_dir()
    assert (checkpoint_dir / f"step-{TOTAL_STEPS - 1:09d}.ckpt").exists()
    resumed = copy.deepcopy(config)
    resumed.load_dir = checkpoint_dir
    resumed.output_dir = tmp_path
    # nerfstudio trains the whole schedule again from the step it resumes at: a schedule of 5 dynamic steps.
    resumed.pipeline.model.static_steps, resumed.pipeline.model.dynamic_steps = 0, 5
    trainer = train(resumed)
    assert trainer._start_step == TOTAL_STEPS
    gaussians_before = trainer.pipeline.model.num_points
    trainer.train()
    assert (resumed.get_checkpoint_dir() / f"step-{TOTAL_STEPS + 4:09d}.ckpt").exists()
    assert trainer.pipeline.model.num_points > 0 and gaussians_before > 0


def test_trained_scene_loads_for_rendering_and_moves_in_time(trained_run):
    config = trained_run["config"]
    _, pipeline, _, step = eval_setup(config.get_base_dir() / "config.yml", test_mode="inference")
    assert step == TOTAL_STEPS - 1
    cameras = pipeline.datamanager.train_dataset.cameras
    input_view = 0
    frames = []
    for time in (0.0, 0.5, 1.0):
        camera: Cameras = copy.deepcopy(cameras[input_view : input_view + 1])
        camera.times = torch.tensor([[time]])
        frames.append(pipeline.model.get_outputs_for_camera(camera)["rgb"])
    assert torch.allclose(frames[0], frames[2])
    change = (frames[0] - frames[1]).abs().amax(dim=-1)
    dataset = pipeline.datamanager.dataparser.dataset()
    motion_mask = (
        cv2.imread(str(dataset.folder / "motion_masks" / f"{dataset.transforms['mom4d']['input_view']}.png"), 0) > 0
    )
    near_motion = cv2.dilate(motion_mask.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    assert change[torch.from_numpy(motion_mask)].max() > 1e-3
    assert change[torch.from_numpy(~near_motion)].max() < 1e-5  # what does not move stands still
