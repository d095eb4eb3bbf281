"""The seed points the model reads from the dataparser's metadata."""

import pytest
import torch
from model_fixtures import straight_path_metadata

from mom_nerfstudio.errors import Mom4dInputError
from mom_nerfstudio.seeds import SeedCloud

VELOCITY = torch.tensor([[0.0, 0.0, 0.1]] * 2 + [[0.0, 0.0, 0.0]] * 2)
MOVING = torch.tensor([1.0, 1.0, 0.0, 0.0])


def metadata() -> dict:
    """Four seeds, the first two moving."""
    xyz = torch.arange(12, dtype=torch.float32).reshape(4, 3)
    return {
        "points3D_xyz": xyz,
        "points3D_rgb": torch.full((4, 3), 128, dtype=torch.uint8),
        "points3D_moving": MOVING.clone(),
        "points3D_footprint": torch.full((4,), 0.01),
        **straight_path_metadata(xyz, VELOCITY, MOVING > 0, num_frames=4),
    }


def test_finite_seeds_are_read_as_they_are() -> None:
    seeds = SeedCloud.from_metadata(metadata())
    assert torch.equal(seeds.path_rows, torch.tensor([0, 1, -1, -1]))
    torch.testing.assert_close(seeds.paths.at(2.0), 2.0 * VELOCITY[:2])
    assert seeds.xyz.shape == (4, 3) and seeds.rgb.dtype == torch.uint8


@pytest.mark.parametrize("key", ["points3D_xyz", "path_offsets", "points3D_moving", "points3D_footprint"])
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_seeds_are_refused_naming_the_field(key: str, bad: float) -> None:
    damaged = metadata()
    damaged[key].reshape(-1)[1] = bad
    with pytest.raises(Mom4dInputError, match=rf"1 NaN or infinite value\(s\) in {key}.*--force True"):
        SeedCloud.from_metadata(damaged)
