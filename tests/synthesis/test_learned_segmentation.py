"""Tests of the learned sky and water segmentation: label groups, merged scores, tiny models, errors."""

from __future__ import annotations

import logging
from pathlib import Path

import huggingface_hub.constants
import numpy as np
import pytest
import torch
from learned_models import (
    force_class_probabilities,
    save_tiny_depth_anything,
    save_tiny_segformer,
    save_tiny_upernet,
)

from mom_nerfstudio.errors import Mom4dInputError
from mom_nerfstudio.synthesis.learned.loading import check_model, loaded_model_count
from mom_nerfstudio.synthesis.learned_segmentation import (
    DEFAULT_SEGMENTATION_MODEL,
    LearnedSkyWaterSegmenter,
    SkyWaterClasses,
    label_synonyms,
    learned_segmentation_model,
    masks_from_scores,
    merged_scores,
)

HEIGHT, WIDTH = 24, 40
WALL, SKY, WATER, SEA, ROCK, PIER = range(6)  # the classes of learned_models.LANDSCAPE_LABELS

pytestmark = pytest.mark.usefixtures("offline_models")

SAVERS = {"segformer": save_tiny_segformer, "upernet": save_tiny_upernet}


@pytest.fixture(scope="module")
def model_folders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("segmentation-models")


def forced_model(folder: Path, kind: str, probabilities: dict[int, float]) -> str:
    """A tiny model of `kind` that predicts `probabilities` at every pixel, saved under `folder`."""
    name = f"{kind}-" + "-".join(f"{index}_{probability}" for index, probability in probabilities.items())
    path = folder / name
    if not path.exists():
        force_class_probabilities(SAVERS[kind](path), probabilities)
    return str(path)


def segment_sky_and_water(rgb: np.ndarray, model: str) -> tuple[np.ndarray, np.ndarray]:
    """Sky and water of `rgb` by the segmentation model in folder `model`, on the CPU."""
    return LearnedSkyWaterSegmenter(learned_segmentation_model(model), torch.device("cpu")).segment(rgb)


def photo() -> np.ndarray:
    return np.random.default_rng(0).uniform(0.0, 1.0, (HEIGHT, WIDTH, 3)).astype(np.float32)


# --- labels ------------------------------------------------------------------------------------------------------


def test_label_synonyms_are_normalised() -> None:
    assert label_synonyms("Waterfall, falls") == {"waterfall", "falls"}
    assert label_synonyms("sky-other") == {"sky"}
    assert label_synonyms("water_other") == {"water"}
    assert label_synonyms("swimming pool, natatorium") == {"swimming pool", "natatorium"}
    assert label_synonyms("bed ") == {"bed"}


def test_ade20k_labels_give_the_sky_and_water_classes() -> None:
    # Labels as nvidia/segformer-b0-finetuned-ade-512-512's config names them (a subset, with their indices).
    ade = {
        2: "sky",
        21: "water",
        26: "sea",
        48: "skyscraper",
        60: "river",
        104: "fountain",
        109: "swimming pool",
        113: "waterfall",
        128: "lake",
        140: "pier",
        34: "rock",
    }
    classes = SkyWaterClasses.from_labels(ade)
    assert classes.sky == (2,)
    assert classes.water == (21, 26, 60, 109, 113, 128)


def test_string_indices_of_a_raw_config_are_read_as_integers() -> None:
    classes = SkyWaterClasses.from_labels({"0": "sky-other", "5": "river", "7": "tree"})
    assert classes == SkyWaterClasses(sky=(0,), water=(5,))


# --- merged scores -----------------------------------------------------------------------------------------------


def logits_of(probabilities: dict[int, float], num_classes: int = 6, size: tuple[int, int] = (4, 4)) -> torch.Tensor:
    logits = torch.full((num_classes, *size), -30.0)
    for index, probability in probabilities.items():
        logits[index] = float(np.log(probability))
    return logits


def test_water_labels_are_summed_before_they_compete() -> None:
    # No single water label beats the wall, but together they do.
    classes = SkyWaterClasses(sky=(SKY,), water=(WATER, SEA))
    scores = merged_scores(logits_of({WALL: 0.4, WATER: 0.3, SEA: 0.3}), classes)
    np.testing.assert_allclose(scores[:, 0, 0].numpy(), [0.4, 0.0, 0.6], atol=1e-6)
    sky, water = masks_from_scores(scores, (HEIGHT, WIDTH))
    assert water.all() and not sky.any()


def test_the_most_probable_other_class_wins_over_a_weaker_group() -> None:
    classes = SkyWaterClasses(sky=(SKY,), water=(WATER, SEA))
    scores = merged_scores(logits_of({PIER: 0.5, WATER: 0.2, SEA: 0.2, SKY: 0.1}), classes)
    sky, water = masks_from_scores(scores, (8, 8))
    assert not sky.any() and not water.any()


def test_masks_are_scaled_to_the_photo_in_the_right_place() -> None:
    scores = torch.zeros(3, 4, 6)
    scores[1, :2] = 1.0  # sky in the top half
    scores[2, 2:, 3:] = 1.0  # water in the bottom right quarter
    scores[0, 2:, :3] = 1.0
    sky, water = masks_from_scores(scores, (HEIGHT, WIDTH))
    assert sky.shape == water.shape == (HEIGHT, WIDTH) and sky.dtype == water.dtype == bool
    assert sky[: HEIGHT // 2 - 1].all() and not sky[HEIGHT // 2 + 1 :].any()
    assert water[HEIGHT // 2 + 1 :, WIDTH // 2 + 1 :].all()
    assert not water[:, : WIDTH // 2 - 1].any() and not water[: HEIGHT // 2 - 1].any()


def test_a_model_without_water_labels_finds_no_water() -> None:
    classes = SkyWaterClasses(sky=(1,), water=())
    sky, water = masks_from_scores(merged_scores(logits_of({0: 0.3, 1: 0.7}, num_classes=2), classes), (5, 5))
    assert sky.all() and not water.any()


# --- tiny models through the user's code path -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["segformer", "upernet"])
def test_random_models_give_disjoint_bool_masks_at_the_photos_size(kind: str, model_folders: Path) -> None:
    folder = model_folders / f"{kind}-random"
    if not folder.exists():
        SAVERS[kind](folder)
    sky, water = segment_sky_and_water(photo(), model=str(folder))
    assert sky.shape == water.shape == (HEIGHT, WIDTH)
    assert sky.dtype == water.dtype == bool
    assert not (sky & water).any()


@pytest.mark.parametrize("kind", ["segformer", "upernet"])
@pytest.mark.parametrize(
    ("probabilities", "expected"),
    [
        ({SKY: 0.9, WALL: 0.1}, "sky"),
        ({WALL: 0.4, WATER: 0.3, SEA: 0.3}, "water"),  # "sea, ocean" counts as water, and the group is summed
        ({PIER: 0.6, WATER: 0.4}, "neither"),  # the pier is not water
    ],
)
def test_the_models_labels_decide_what_is_sky_and_water(
    kind: str, probabilities: dict[int, float], expected: str, model_folders: Path
) -> None:
    sky, water = segment_sky_and_water(photo(), model=forced_model(model_folders, kind, probabilities))
    assert sky.all() == (expected == "sky") and sky.any() == (expected == "sky")
    assert water.all() == (expected == "water") and water.any() == (expected == "water")


def test_the_model_is_loaded_once_for_several_photos(model_folders: Path) -> None:
    model = forced_model(model_folders, "segformer", {SKY: 0.9, WALL: 0.1})
    for _ in range(2):
        segment_sky_and_water(photo(), model=model)
    assert loaded_model_count() == 1


def test_a_model_with_sky_but_no_water_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = force_class_probabilities(save_tiny_segformer(tmp_path / "sky-only", {0: "road", 1: "sky"}), {0: 0.9})
    with caplog.at_level(logging.WARNING, logger="mom4d"):
        sky, water = segment_sky_and_water(photo(), model=str(folder))
    assert not sky.any() and not water.any()
    assert "has no water class" in caplog.text


# --- errors ------------------------------------------------------------------------------------------------------


def test_a_model_with_neither_sky_nor_water_is_refused(tmp_path: Path) -> None:
    folder = save_tiny_segformer(tmp_path / "streets", {0: "road", 1: "car", 2: "person"})
    with pytest.raises(Mom4dInputError, match=r"streets \(--segmentation-model\) has no sky or water class.*'road'"):
        segment_sky_and_water(photo(), model=str(folder))


def test_a_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(Mom4dInputError, match="absent.*--segmentation-model.*does not exist.*--segmentation heuristic"):
        segment_sky_and_water(photo(), model=str(tmp_path / "absent"))


def test_a_model_of_another_type_is_refused(tmp_path: Path) -> None:
    folder = save_tiny_depth_anything(tmp_path / "depth")
    with pytest.raises(
        Mom4dInputError, match=r"is a depth_anything, not a semantic segmentation model \(segformer or upernet\)"
    ):
        segment_sky_and_water(photo(), model=str(folder))


def test_the_default_model_is_named_when_absent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(Mom4dInputError, match=f"{DEFAULT_SEGMENTATION_MODEL}.*hf download.*--segmentation heuristic"):
        check_model(learned_segmentation_model())


# --- in the synthesis ----------------------------------------------------------------------------------------------


def test_the_synthesis_animates_what_the_segmenter_finds_and_caches_it(landscape, tmp_path: Path) -> None:
    from mom_nerfstudio.synthesis.learned.loading import release_models
    from mom_nerfstudio.synthesis.runner import SceneSynthesis

    model = forced_model(tmp_path / "models", "segformer", {WATER: 0.9, WALL: 0.1})
    photo_path = landscape.write(tmp_path / "photo", annotate=False)
    config = landscape.config(tmp_path / "cache", segmentation="learned", segmentation_model=model)
    synthesis = SceneSynthesis(photo_path, config)
    assert synthesis.motion.source == "automatic (flowing water)"
    assert synthesis.motion.mask.all()  # the segmenter says water everywhere; the heuristics would not
    assert synthesis.scene.depth.shape == synthesis.motion.mask.shape  # the depth stage reads the same (cached) sky
    # Once cached, the model is not loaded any more: not even to find the motion again.
    release_models()
    again = SceneSynthesis(photo_path, config)
    assert np.array_equal(again.motion.mask, synthesis.motion.mask)
    assert loaded_model_count() == 0
