"""The parts of mom4d meet only where the design says they do, read from the import statements of the source files.

The dataset format sits at the bottom and imports nothing of the project; the synthesis writes it, the DataParser and
the model read it. The DataParser takes its options from the synthesis and finds a cached dataset by its key; the
method's registration assembles the DataParser with the model. The synthesis stages receive what they declare and
never import the scheduler that runs them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import PROJECT_ROOT

FORMAT = "dataparsers.dataset_format"
PACKAGES = ("dataparsers", "mom_nerfstudio")


def module_file(name: str) -> Path | None:
    """The source file of a module of the project, or None for a module from elsewhere."""
    base = PROJECT_ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def module_name(path: Path) -> str:
    """The dotted name of a source file of the project."""
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """The project's modules a source file imports, anywhere in it (`from package import module` counts the module)."""
    imported = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
            names = [name if module_file(name) is not None else node.module for name in names]
        else:
            continue
        imported.update(name for name in names if name.split(".")[0] in PACKAGES)
    return imported


def sources(package: str) -> list[Path]:
    return sorted((PROJECT_ROOT / package).rglob("*.py"))


def test_the_dataset_format_imports_nothing_of_the_project() -> None:
    assert imported_modules(module_file(FORMAT)) == set()


@pytest.mark.parametrize("path", sources("mom_nerfstudio"), ids=lambda path: module_name(path))
def test_mom_nerfstudio_reads_the_dataparsers_package_only_through_the_format(path: Path) -> None:
    crossing = {name for name in imported_modules(path) if name.startswith("dataparsers")} - {FORMAT}
    if module_name(path) == "mom_nerfstudio.method_config":  # the method's registration names its DataParser
        crossing -= {"dataparsers.mom4d_dataparser"}
    assert not crossing


@pytest.mark.parametrize("path", sources("dataparsers"), ids=lambda path: module_name(path))
def test_the_dataparser_takes_only_the_synthesis_options_and_keys(path: Path) -> None:
    crossing = {name for name in imported_modules(path) if name.startswith("mom_nerfstudio")}
    assert crossing <= {"mom_nerfstudio.synthesis.config", "mom_nerfstudio.synthesis.keys"}


def test_the_model_reads_the_dataset_format_and_nothing_of_the_synthesis() -> None:
    reached, waiting = set(), ["mom_nerfstudio.model"]
    while waiting:
        name = waiting.pop()
        if name in reached:
            continue
        reached.add(name)
        waiting.extend(imported_modules(module_file(name)))
    assert FORMAT in reached
    assert not {name for name in reached if name.startswith(("mom_nerfstudio.synthesis", "dataparsers.mom4d"))}


@pytest.mark.parametrize(
    "path", sorted((PROJECT_ROOT / "mom_nerfstudio/synthesis/stages").glob("*.py")), ids=lambda path: path.stem
)
def test_no_stage_imports_the_scheduler(path: Path) -> None:
    assert "mom_nerfstudio.synthesis.runner" not in imported_modules(path)
