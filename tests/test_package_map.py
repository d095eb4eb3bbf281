"""The README's map of the code is the one the code gives (`scripts/package_map.py`)."""

import package_map


def test_the_readme_holds_the_current_package_map() -> None:
    readme = package_map.README.read_text()
    assert package_map.readme_map(readme) == package_map.package_map(), (
        "The README's package map is out of date: run `python scripts/package_map.py --write`."
    )


def test_the_map_names_every_module_with_its_summary() -> None:
    lines = package_map.package_map().splitlines()
    assert "  - `dataset_format`: " + package_map.summary(package_map.ROOT / "dataparsers/dataset_format.py") in lines
    assert all(": " in line for line in lines)  # every folder and module says what it holds
