"""Every command and nerfstudio registration that pyproject.toml declares points at something that exists."""

import importlib

import pytest
import tomllib
from conftest import PROJECT_ROOT


def declared_entry_points() -> list[tuple[str, str]]:
    """(name, "module:attribute") of the console scripts and the nerfstudio entry points."""
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    declared = list(project["scripts"].items())
    for group in project["entry-points"].values():
        declared += list(group.items())
    return declared


def test_pyproject_declares_the_commands_and_registrations():
    names = {name for name, _ in declared_entry_points()}
    assert {"mom4d-synthesize", "mom4d-camera-paths", "mom4d-export", "mom4d", "mom4d-tiny", "mom4d-data"} <= names


@pytest.mark.parametrize(("name", "target"), declared_entry_points())
def test_entry_point_target_exists(name: str, target: str):
    module_name, attribute = target.split(":")
    module = importlib.import_module(module_name)
    assert hasattr(module, attribute), f"{name} = {target!r}: {module_name} has no {attribute}"
