"""Tests of the `mom4d-data` DataParser: a synthesised dataset in, nerfstudio's outputs with times out."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import torch
from nerfstudio.data.dataparsers.base_dataparser import DataparserOutputs

from dataparsers.dataset_format import DatasetError
from dataparsers.mom4d_dataparser import (
    Mom4dDataParser,
    Mom4dDataParserConfig,
    mom4d_dataparser,
)
from mom_nerfstudio.errors import Mom4dInputError
from mom_nerfstudio.run_dataset import link_dataset
from mom_nerfstudio.synthesis import runner
from mom_nerfstudio.synthesis.runner import synthesize

if TYPE_CHECKING:
    from conftest import TinyLandscape

NUM_FRAMES = 4
NUM_IMAGES = 25 + 5 * (NUM_FRAMES - 1)


def parser_config(landscape: TinyLandscape, photo: Path, cache_dir: Path, **overrides) -> Mom4dDataParserConfig:
    options = {
        "data": photo,
        "max_resolution": landscape.width,
        "num_frames": NUM_FRAMES,
        "cache_dir": cache_dir,
        "device": "cpu",
    }
    return Mom4dDataParserConfig(**{**options, **overrides})


@pytest.fixture(scope="module")
def parser(landscape: TinyLandscape, tmp_path_factory: pytest.TempPathFactory) -> Mom4dDataParser:
    """A parser of the tiny landscape's dataset, which the synthesis cache holds."""
    folder = tmp_path_factory.mktemp("dataparser")
    photo = landscape.write(folder / "photo")
    config = parser_config(landscape, photo, folder / "cache")
    synthesize(photo, config)
    return config.setup()


@pytest.fixture(scope="module")
def train(parser: Mom4dDataParser) -> DataparserOutputs:
    return parser.get_dataparser_outputs("train")


def test_setup_builds_the_mom4d_parser(parser: Mom4dDataParser) -> None:
    assert isinstance(parser, Mom4dDataParser)
    assert parser.includes_time is True
    assert isinstance(mom4d_dataparser.config, Mom4dDataParserConfig)


def test_train_cameras_have_times_in_the_loop(train: DataparserOutputs, landscape: TinyLandscape) -> None:
    cameras = train.cameras
    assert len(cameras) == NUM_IMAGES
    assert cameras.times is not None and cameras.times.shape == (NUM_IMAGES, 1)
    assert (cameras.times >= 0).all() and (cameras.times < 1).all()
    assert set(cameras.times.flatten().tolist()) == {0.0, 0.25, 0.5, 0.75}
    assert cameras.camera_to_worlds.shape == (NUM_IMAGES, 3, 4)
    assert (cameras.width == landscape.width).all() and (cameras.height == landscape.height).all()
    assert torch.allclose(cameras.cx, torch.tensor(landscape.width / 2))
    assert torch.allclose(cameras.cy, torch.tensor(landscape.height / 2))


def test_train_images_and_masks_exist(train: DataparserOutputs) -> None:
    assert len(train.image_filenames) == NUM_IMAGES
    assert train.mask_filenames is not None and len(train.mask_filenames) == NUM_IMAGES
    assert all(Path(path).is_file() for path in train.image_filenames)
    assert all(Path(path).is_file() for path in train.mask_filenames)
    assert train.metadata["confidence_filenames"] == train.mask_filenames


def test_metadata_carries_the_point_cloud(train: DataparserOutputs, landscape: TinyLandscape) -> None:
    metadata = train.metadata
    num_points = landscape.width * landscape.height
    assert metadata["points3D_xyz"].shape == (num_points, 3) and metadata["points3D_xyz"].dtype == torch.float32
    assert metadata["points3D_rgb"].shape == (num_points, 3) and metadata["points3D_rgb"].dtype == torch.uint8
    assert metadata["points3D_moving"].shape == (num_points,)
    moving = metadata["points3D_moving"] > 0.5
    rows = metadata["points3D_path_rows"]
    assert moving.any() and (rows[~moving] == -1).all()
    assert torch.equal(rows[moving], torch.arange(int(moving.sum()), dtype=rows.dtype))  # one path per moving point
    assert metadata["path_offsets"].shape == (int(moving.sum()), len(metadata["path_times"]), 3)
    assert metadata["path_offsets"].abs().amax() > 0  # the water travels
    assert metadata["num_frames"] == NUM_FRAMES


def test_scene_box_holds_every_point(train: DataparserOutputs) -> None:
    xyz = train.metadata["points3D_xyz"]
    aabb = train.scene_box.aabb
    assert (xyz >= aabb[0] - 1e-6).all() and (xyz <= aabb[1] + 1e-6).all()


def test_input_view_camera_is_at_the_origin_looking_forward(train: DataparserOutputs) -> None:
    pose = train.cameras.camera_to_worlds[0]
    assert torch.allclose(pose[:, 3], torch.zeros(3))
    assert torch.allclose(-pose[:, 2], torch.tensor([0.0, 1.0, 0.0]))  # OpenGL forward (-z) is the world's +y


def test_val_split_has_only_the_input_views_loop(parser: Mom4dDataParser) -> None:
    val = parser.get_dataparser_outputs("val")
    assert len(val.image_filenames) == NUM_FRAMES
    assert all(Path(path).name.startswith("r0o0_t") for path in val.image_filenames)
    assert sorted(val.cameras.times.flatten().tolist()) == [0.0, 0.25, 0.5, 0.75]


def test_static_views_only_for_static_methods(parser: Mom4dDataParser) -> None:
    parser.config.static_views_only = True
    try:
        static = parser.get_dataparser_outputs("train")
    finally:
        parser.config.static_views_only = False
    assert len(static.image_filenames) == 25
    assert (static.cameras.times == 0).all()


def test_val_split_with_every_view(parser: Mom4dDataParser) -> None:
    parser.config.eval_views = "all"
    try:
        assert len(parser.get_dataparser_outputs("val").image_filenames) == NUM_IMAGES
    finally:
        parser.config.eval_views = "input"


def test_a_photo_not_synthesised_yet_is_explained(
    landscape: TinyLandscape, landscape_photo: Path, tmp_path: Path
) -> None:
    parser = parser_config(landscape, landscape_photo, tmp_path / "cache").setup()
    with pytest.raises(Mom4dInputError, match="has not been synthesised with these options yet.*mom4d-synthesize"):
        parser.get_dataparser_outputs("train")
    assert not (tmp_path / "cache").exists()  # reading wrote nothing


def test_the_parser_finds_the_cached_dataset_by_its_key_without_a_synthesis(
    parser: Mom4dDataParser, landscape: TinyLandscape, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("the parser built a synthesis")

    monkeypatch.setattr(runner.SceneSynthesis, "__init__", refuse)
    again = parser.config.setup()
    assert again.dataset().folder == parser.dataset().folder


def test_a_named_dataset_is_read_as_it_is(parser: Mom4dDataParser, landscape: TinyLandscape, tmp_path: Path) -> None:
    copy = link_dataset(parser.dataset().folder, tmp_path / "run" / "dataset")
    elsewhere = parser_config(landscape, tmp_path / "moved-away.jpg", tmp_path / "no-cache", dataset=copy.folder)
    outputs = elsewhere.setup().get_dataparser_outputs("train")  # neither the photo nor its cache is needed
    assert all(Path(path).is_relative_to(copy.folder) for path in outputs.image_filenames)
    assert len(outputs.image_filenames) == NUM_IMAGES


def test_a_folder_that_is_no_dataset_is_explained(
    landscape: TinyLandscape, landscape_photo: Path, tmp_path: Path
) -> None:
    config = parser_config(landscape, landscape_photo, tmp_path / "cache", dataset=tmp_path)
    with pytest.raises(DatasetError, match="holds no transforms.json: it is not a mom4d dataset"):
        config.setup().get_dataparser_outputs("train")
