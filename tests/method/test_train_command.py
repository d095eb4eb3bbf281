"""`ns-train mom4d` refuses a bad photo path or option in one line, before it prints its config or writes anything."""

from __future__ import annotations

from pathlib import Path

import pytest
import tyro
from conftest import EXAMPLE_PHOTO
from nerfstudio.configs.method_configs import AnnotatedBaseConfigUnion


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


def test_a_good_photo_parses_and_names_the_experiment() -> None:
    config = parse_train_command(["mom4d", "--data", str(EXAMPLE_PHOTO)])
    assert config.data == EXAMPLE_PHOTO
    config.pipeline.datamanager.data = config.data  # as ns-train's main does with its --data alias
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


def test_a_photo_that_cannot_be_synthesised_stops_the_run_in_one_line(
    landscape, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    photo = landscape.write(tmp_path / "[photos]")
    photo.with_suffix(".json").write_text('{"shapes": "not a list"}')  # a damaged annotation beside it
    monkeypatch.chdir(tmp_path)
    config = parse_train_command(["mom4d", "--data", str(photo), "mom4d-data", "--max-resolution", "96"])
    config.pipeline.datamanager.data = config.data
    with pytest.raises(SystemExit) as exit_info:
        config.save_config()
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "'shapes' must be a list" in error and "Traceback" not in error
