"""`ns-train mom4d` refuses a bad photo path or option in one line, before it prints its config or writes anything."""

from __future__ import annotations

from pathlib import Path

import pytest
import tyro
from nerfstudio.configs.method_configs import AnnotatedBaseConfigUnion

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "forest_stream.jpg"


def parse_train_command(args: list[str]) -> object:
    return tyro.cli(AnnotatedBaseConfigUnion, args=args)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["mom4d", "--data", "missing.jpg"], "--data missing.jpg does not exist"),
        (["mom4d", "--pipeline.datamanager.data", "missing.jpg"], "--data missing.jpg does not exist"),
        (["mom4d", "--data", "."], "--data . is a directory"),
        (["mom4d", "--data", str(EXAMPLE), "mom4d-data", "--num-frames", "1"], "--num-frames is 1"),
        (["mom4d", "--data", str(EXAMPLE), "mom4d-data", "--fov-degrees", "0"], "--fov-degrees is 0.0"),
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
    assert expected in error
    assert not any(tmp_path.iterdir())  # no run folder


def test_a_good_photo_parses() -> None:
    config = parse_train_command(["mom4d", "--data", str(EXAMPLE)])
    assert config.data == EXAMPLE
