"""`ns-train mom4d` refuses a bad photo path or option in one line, before it prints its config or writes anything."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import tyro
import yaml
from conftest import EXAMPLE_PHOTO
from nerfstudio.configs.method_configs import AnnotatedBaseConfigUnion

from mom_nerfstudio.errors import Mom4dInputError


def parse_train_command(args: list[str]) -> object:
    return tyro.cli(AnnotatedBaseConfigUnion, args=args)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["mom4d", "--data", "missing.jpg"], "--data missing.jpg does not exist"),
        (["mom4d", "--pipeline.datamanager.data", "missing.jpg"], "--data missing.jpg does not exist"),
        (["mom4d", "--data", "."], "--data . is a directory"),
        (["mom4d", "--data", str(EXAMPLE_PHOTO), "mom4d-data", "--num-frames", "1"], "--num-frames is 1"),
        (["mom4d", "--data", str(EXAMPLE_PHOTO), "mom4d-data", "--num-frames", "0"], "--num-frames is 0"),
        (["mom4d", "--data", str(EXAMPLE_PHOTO), "mom4d-data", "--max-resolution", "0"], "--max-resolution is 0"),
        (
            ["mom4d-tiny", "--data", str(EXAMPLE_PHOTO), "mom4d-data", "--max-resolution", "-1"],
            "--max-resolution is -1",
        ),
        (["mom4d", "--data", str(EXAMPLE_PHOTO), "mom4d-data", "--fov-degrees", "0"], "--fov-degrees is 0.0"),
    ],
)
def test_bad_input_fails_while_parsing(
    args: list[str], expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        parse_train_command(args)
    assert exit_info.value.code == 2
    error = " ".join(capsys.readouterr().err.split())  # the message is wrapped inside a box
    assert expected in error and "Traceback" not in error
    assert not any(tmp_path.iterdir())  # no run folder


@pytest.mark.parametrize("option", ["--data", "--pipeline.datamanager.data"])
def test_a_good_photo_parses_into_one_field_and_names_the_experiment(option: str) -> None:
    config = parse_train_command(["mom4d", option, str(EXAMPLE_PHOTO)])
    assert config.photo == config.pipeline.datamanager.dataparser.data == EXAMPLE_PHOTO
    assert config.data is None and config.pipeline.datamanager.data is None  # nerfstudio's aliases hold no copy
    config.set_experiment_name()
    assert config.experiment_name == "forest_stream"  # the photo's name, not its folder's ("examples")


def test_the_model_s_two_stages_own_the_schedule() -> None:
    config = parse_train_command(["mom4d", "--data", str(EXAMPLE_PHOTO), "--pipeline.model.static-steps", "2000"])
    assert config.max_num_iterations == 2000 + 3500  # a longer static stage does not shorten the dynamic one
    schedulers = [
        optimizer["scheduler"] for optimizer in config.optimizers.values() if optimizer["scheduler"] is not None
    ]
    assert schedulers and all(scheduler.max_steps == 5500 for scheduler in schedulers)
    config.pipeline.model.dynamic_steps = 100  # changed after parsing, as scripts do
    config.follow_stages()
    assert config.max_num_iterations == 2100


def test_the_iteration_count_is_not_an_option(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        parse_train_command(["mom4d", "--data", str(EXAMPLE_PHOTO), "--max-num-iterations", "10"])
    assert "max-num-iterations" in capsys.readouterr().err


def test_saving_the_config_names_the_runs_dataset_which_the_set_up_makes(
    landscape, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    photo = landscape.write(tmp_path / "photos")
    monkeypatch.chdir(tmp_path)
    args = ["mom4d", "--data", str(photo), "mom4d-data", "--cache-dir", "cache", "--max-resolution", "96"]
    config = parse_train_command([*args, "--num-frames", "2"])
    config.save_config()
    dataparser = config.pipeline.datamanager.dataparser
    run_dir = config.get_base_dir()
    assert dataparser.dataset == run_dir / "dataset" and dataparser.data == photo.resolve()
    assert not run_dir.exists() and not (tmp_path / "cache").exists()  # saving synthesises nothing
    config.prepare_dataset()  # what the set-up does before training
    assert (run_dir / "dataset" / "transforms.json").is_file()
    saved = yaml.load((run_dir / "config.yml").read_text(), Loader=yaml.Loader)
    assert saved.pipeline.datamanager.dataparser.dataset == run_dir / "dataset"


def test_a_photo_that_cannot_be_synthesised_stops_the_run_in_one_line(
    landscape, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    photo = landscape.write(tmp_path / "[photos]")
    photo.with_suffix(".json").write_text('{"shapes": "not a list"}')  # a damaged annotation beside it
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    config = parse_train_command(["mom4d", "--data", str(photo), "mom4d-data", "--max-resolution", "96"])
    config.save_config()
    with pytest.raises(Mom4dInputError, match="'shapes' must be a list") as raised:
        config.setup(local_rank=0, world_size=1)  # the library raises; it does not exit
    assert not any((tmp_path / "outputs").rglob("*"))  # no run folder is left behind
    with pytest.raises(SystemExit) as exit_info:  # what ns-train then does with the error that reaches the top
        sys.excepthook(raised.type, raised.value, raised.tb)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "'shapes' must be a list" in error and "Traceback" not in error
