"""The stages' declarations: what each reads, the order that follows from it, and what the scheduler hands them."""

from __future__ import annotations

import inspect
from types import ModuleType

import pytest

from mom_nerfstudio.synthesis import runner
from mom_nerfstudio.synthesis.stages import SHARED_VALUES, STAGE_BY_NAME, STAGES, upstream


@pytest.mark.parametrize("stage", STAGES, ids=lambda stage: stage.NAME)
def test_each_stage_receives_exactly_the_values_it_declares(stage: ModuleType) -> None:
    function = stage.write if stage is STAGES[-1] else stage.compute
    parameters = list(inspect.signature(function).parameters)
    leading = ["config", "folder"] if stage is STAGES[-1] else ["config"]
    assert parameters == [*leading, *stage.INPUTS]
    assert all(name in STAGE_BY_NAME or name in SHARED_VALUES for name in stage.INPUTS)


def test_the_stages_run_after_what_they_read_and_the_dataset_comes_last() -> None:
    names = [stage.NAME for stage in STAGES]
    assert names == ["segmentation", "depth", "growth", "views", "motion3d", "dataset"]
    for position, stage in enumerate(STAGES):
        assert set(upstream(stage)) <= set(names[:position])


def test_a_stage_reads_the_stages_its_shared_values_are_made_from() -> None:
    assert upstream(STAGE_BY_NAME["growth"]) == ("segmentation", "depth")  # the scene stands on the depth
    assert upstream(STAGE_BY_NAME["motion3d"]) == ("segmentation", "depth", "views")


def test_the_scheduler_makes_every_shared_value() -> None:
    assert set(runner._SHARED) == set(SHARED_VALUES)
