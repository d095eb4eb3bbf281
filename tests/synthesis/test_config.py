"""Synthesis options that cannot work are refused when the config is built, naming the option as it is typed."""

from __future__ import annotations

import pytest

from mom_nerfstudio.errors import Mom4dInputError
from mom_nerfstudio.synthesis.config import SynthesisConfig


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_resolution": 31}, "--max-resolution is 31"),
        ({"fov_degrees": 175.0}, "--fov-degrees is 175.0"),
        ({"num_frames": 1}, "--num-frames is 1"),
        ({"hint_frames": 0.0}, "--hint-frames is 0.0"),
        ({"hint_sigma": -2.0}, "--hint-sigma is -2.0"),
        ({"inpaint_steps": 0}, "--inpaint-steps is 0"),
    ],
)
def test_impossible_options_are_refused(options: dict, message: str) -> None:
    with pytest.raises(Mom4dInputError, match=f"^{message}"):
        SynthesisConfig(**options)


def test_defaults_are_valid() -> None:
    SynthesisConfig().validate()
