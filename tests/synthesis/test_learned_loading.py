"""Tests of the learned models' loading: folders and hub ids, offline, load once, and the error messages."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import huggingface_hub.constants
import numpy as np
import pytest
import torch
from learned_models import (
    save_tiny_depth_anything,
    save_tiny_sd_inpaint,
    save_tiny_zoedepth,
)

from mom_nerfstudio.errors import Mom4dInputError
from mom_nerfstudio.synthesis.depth import estimate_depth, learned_depth_model
from mom_nerfstudio.synthesis.diffusion_inpaint import diffusion_inpaint_model
from mom_nerfstudio.synthesis.learned import loading
from mom_nerfstudio.synthesis.learned.loading import (
    ModelSource,
    check_model,
    gpu_memory_guard,
    load_model,
    loaded_model_count,
    model_dtype,
    model_fingerprint,
    release_models,
)

MISSING_HUB_ID = "mom4d-tests/no-such-model"

pytestmark = pytest.mark.usefixtures("offline_models")


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny saved models: a ZoeDepth, a Depth Anything and a Stable Diffusion inpainting pipeline."""
    folder = tmp_path_factory.mktemp("models")
    return {
        "zoedepth": save_tiny_zoedepth(folder / "zoedepth"),
        "depth-anything": save_tiny_depth_anything(folder / "depth-anything"),
        "sd": save_tiny_sd_inpaint(folder / "sd"),
    }


@pytest.fixture
def hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Hugging Face cache in place of the user's."""
    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    return cache


def put_in_hub_cache(cache: Path, repo_id: str, folder: Path) -> None:
    """Lay `folder` out in `cache` as the hub client does for a downloaded snapshot of `repo_id`."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    shutil.copytree(folder, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)


def test_a_missing_hub_model_names_the_model_the_cache_and_how_to_get_it(hub_cache: Path) -> None:
    with pytest.raises(Mom4dInputError) as raised:
        check_model(learned_depth_model("zoedepth", MISSING_HUB_ID))
    message = str(raised.value)
    assert MISSING_HUB_ID in message and "--depth-model" in message
    assert str(hub_cache) in message and "HF_HUB_OFFLINE" in message
    assert f"hf download {MISSING_HUB_ID}" in message
    assert "--depth prior" in message


def test_the_default_models_are_named_when_absent(hub_cache: Path) -> None:
    with pytest.raises(Mom4dInputError, match="Intel/zoedepth-nyu-kitti"):
        check_model(learned_depth_model("zoedepth"))
    with pytest.raises(Mom4dInputError, match="stable-diffusion-v1-5/stable-diffusion-inpainting.*--inpaint telea"):
        check_model(diffusion_inpaint_model())


def test_a_hub_model_in_the_local_cache_loads_offline(hub_cache: Path, models: dict[str, Path]) -> None:
    put_in_hub_cache(hub_cache, "mom4d-tests/tiny-zoedepth", models["zoedepth"])
    assert check_model(learned_depth_model("zoedepth", "mom4d-tests/tiny-zoedepth"))["model_type"] == "zoedepth"
    rgb = np.full((24, 32, 3), 0.5, np.float32)
    depth = estimate_depth(rgb, np.zeros((24, 32), bool), method="zoedepth", model="mom4d-tests/tiny-zoedepth")
    assert depth.shape == (24, 32)


def test_a_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(Mom4dInputError, match="model folder .*absent.* does not exist"):
        check_model(learned_depth_model("depth-anything", str(tmp_path / "absent")))


def test_a_folder_without_a_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(Mom4dInputError, match="holds no config.json"):
        check_model(learned_depth_model("zoedepth", str(tmp_path)))
    with pytest.raises(Mom4dInputError, match="holds no model_index.json.*--inpaint telea"):
        check_model(diffusion_inpaint_model(str(tmp_path)))


def test_a_folder_of_another_model_is_refused(models: dict[str, Path]) -> None:
    with pytest.raises(
        Mom4dInputError, match="is a depth_anything, not a ZoeDepth depth model.*Intel/zoedepth-nyu-kitti"
    ):
        check_model(learned_depth_model("zoedepth", str(models["depth-anything"])))
    with pytest.raises(Mom4dInputError, match="is a StableDiffusionInpaintPipeline, not a Marigold depth pipeline"):
        check_model(learned_depth_model("marigold", str(models["sd"])))
    with pytest.raises(Mom4dInputError, match="holds no model_index.json"):
        check_model(diffusion_inpaint_model(str(models["zoedepth"])))


def test_an_invalid_hub_id_is_refused() -> None:
    with pytest.raises(Mom4dInputError, match="neither an existing folder nor a valid hub id"):
        check_model(learned_depth_model("zoedepth", "not a model!"))


def test_a_missing_library_is_named_with_its_install_command(
    monkeypatch: pytest.MonkeyPatch, models: dict[str, Path]
) -> None:
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "transformers" else find_spec(name))
    with pytest.raises(Mom4dInputError, match=r"needs the Python package 'transformers'.*pip install 'mom4d\[depth\]'"):
        check_model(learned_depth_model("zoedepth", str(models["zoedepth"])))
    with pytest.raises(
        Mom4dInputError, match=r"Stable Diffusion .* needs the Python package 'transformers'.*--inpaint telea"
    ):
        check_model(diffusion_inpaint_model(str(models["sd"])))


def test_missing_weights_are_reported_with_the_folder(tmp_path: Path, models: dict[str, Path]) -> None:
    folder = tmp_path / "no-weights"
    folder.mkdir()
    shutil.copy(models["zoedepth"] / "config.json", folder)
    with pytest.raises(Mom4dInputError, match=f"could not be loaded from the folder {folder}.*weights"):
        estimate_depth(np.zeros((8, 8, 3), np.float32), np.zeros((8, 8), bool), method="zoedepth", model=str(folder))


def test_a_model_is_loaded_once_per_device(models: dict[str, Path]) -> None:
    spec = learned_depth_model("zoedepth", str(models["zoedepth"]))
    sources: list[ModelSource] = []

    def loader(source: ModelSource) -> object:
        sources.append(source)
        return object()

    first = load_model(spec, torch.device("cpu"), loader)
    assert load_model(spec, torch.device("cpu"), loader) is first
    assert len(sources) == 1 and loaded_model_count() == 1
    assert sources[0].path_or_id == str(models["zoedepth"]) and sources[0].dtype == torch.float32
    assert sources[0].local_files_only  # the hub is switched off in these tests
    release_models()
    assert load_model(spec, torch.device("cpu"), loader) is not first and len(sources) == 2


def test_half_precision_on_a_gpu_single_on_the_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    assert model_dtype(torch.device("cuda")) == torch.float16
    assert model_dtype(torch.device("cpu")) == torch.float32
    assert model_dtype(torch.device("cpu"), torch.bfloat16) == torch.float32
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    assert model_dtype(torch.device("cuda"), torch.bfloat16) == torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    assert model_dtype(torch.device("cuda"), torch.bfloat16) == torch.float32
    assert learned_depth_model("zoedepth").gpu_dtype == torch.bfloat16
    assert learned_depth_model("depth-anything").gpu_dtype == torch.float16


def test_running_out_of_gpu_memory_suggests_what_to_do() -> None:
    spec = learned_depth_model("marigold")
    with pytest.raises(Mom4dInputError) as raised:
        with gpu_memory_guard(spec, "estimating depth at 4000x3000"):
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
    message = str(raised.value)
    assert "ran out of memory estimating depth at 4000x3000" in message and "prs-eth/marigold-depth-v1-1" in message
    assert "--depth depth-anything" in message and "--max-resolution" in message and "--device cpu" in message


def test_an_out_of_memory_error_while_estimating_depth_reaches_the_user_as_input_error(
    models: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def out_of_memory(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory.")

    monkeypatch.setattr(torch.nn.Module, "__call__", out_of_memory)
    with pytest.raises(Mom4dInputError, match="ran out of memory estimating depth at 8x6.*small model"):
        rgb = np.zeros((6, 8, 3), np.float32)
        estimate_depth(rgb, np.zeros((6, 8), bool), method="depth-anything", model=str(models["depth-anything"]))


def test_the_fingerprint_follows_a_folders_files(tmp_path: Path, models: dict[str, Path]) -> None:
    folder = tmp_path / "model"
    shutil.copytree(models["zoedepth"], folder)
    spec = learned_depth_model("zoedepth", str(folder))
    before = model_fingerprint(spec)
    assert model_fingerprint(spec) == before
    with open(folder / "model.safetensors", "ab") as weights:
        weights.write(b"\0")
    assert model_fingerprint(spec) != before
    assert model_fingerprint(learned_depth_model("zoedepth")) == "hub:Intel/zoedepth-nyu-kitti"


def test_hub_ids_and_folders_are_told_apart(tmp_path: Path) -> None:
    assert not loading.is_folder_reference("Intel/zoedepth-nyu-kitti")
    assert loading.is_folder_reference(str(tmp_path))
    assert loading.is_folder_reference("./weights/zoedepth") and loading.is_folder_reference("~/models/sd")
