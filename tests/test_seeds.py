"""The seed points the model reads from the dataparser's metadata."""

import pytest
import torch

from dataparsers.errors import Mom4dInputError
from mom_nerfstudio.seeds import SeedCloud


def metadata() -> dict:
    """Four seeds, the first two moving."""
    return {
        "points3D_xyz": torch.arange(12, dtype=torch.float32).reshape(4, 3),
        "points3D_rgb": torch.full((4, 3), 128, dtype=torch.uint8),
        "points3D_velocity": torch.tensor([[0.0, 0.0, 0.1]] * 2 + [[0.0, 0.0, 0.0]] * 2),
        "points3D_moving": torch.tensor([1.0, 1.0, 0.0, 0.0]),
        "points3D_footprint": torch.full((4,), 0.01),
    }


def test_finite_seeds_are_read_as_they_are() -> None:
    seeds = SeedCloud.from_metadata(metadata())
    assert torch.equal(seeds.velocity, metadata()["points3D_velocity"])
    assert seeds.xyz.shape == (4, 3) and seeds.rgb.dtype == torch.uint8


@pytest.mark.parametrize("key", ["points3D_xyz", "points3D_velocity", "points3D_moving", "points3D_footprint"])
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_seeds_are_refused_naming_the_field(key: str, bad: float) -> None:
    damaged = metadata()
    damaged[key].reshape(-1)[1] = bad
    with pytest.raises(Mom4dInputError, match=rf"1 NaN or infinite value\(s\) in {key}.*--force True"):
        SeedCloud.from_metadata(damaged)
