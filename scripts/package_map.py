"""The reader's map of the code: every package and module with the summary its docstring opens with, as Markdown.

    python scripts/package_map.py           # print the map
    python scripts/package_map.py --write   # put it into README.md, between the map's markers

The README's development section holds the map; `tests/test_package_map.py` checks that it is the code's.
Docstrings are read from the source files, so nothing is imported.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
"""The repository's root folder."""

TOP_LEVEL = ("dataparsers", "mom_nerfstudio", "scripts")
"""The folders the map covers, in its order: the installed packages, then the benchmarks and checks."""

FOLDER_SUMMARIES = {"scripts": "Benchmarks and checks, run from the repository's root (not installed)."}
"""What the folders that are no package (and so have no docstring) hold."""

README = ROOT / "README.md"
BEGIN = "<!-- package map: written by `python scripts/package_map.py --write`; do not edit by hand -->"
END = "<!-- end of the package map -->"


def summary(path: Path) -> str:
    """The first paragraph of a Python file's module docstring, on one line ("" when it has none)."""
    docstring = ast.get_docstring(ast.parse(path.read_text()))
    return " ".join(docstring.split("\n\n")[0].split()) if docstring else ""


def _folder_lines(folder: Path, depth: int) -> list[str]:
    """The map's lines for a folder: the folder (described by its `__init__.py`), then its modules and subfolders."""
    indent = "  " * depth
    init = folder / "__init__.py"
    relative = folder.relative_to(ROOT).as_posix()
    description = summary(init) if init.is_file() else FOLDER_SUMMARIES.get(relative, "")
    lines = [f"{indent}- `{relative}/`" + (f": {description}" if description else "")]
    for path in sorted(folder.glob("*.py")):
        if path.name != "__init__.py":
            lines.append(f"{indent}  - `{path.stem}`: {summary(path)}")
    for sub in sorted(entry for entry in folder.iterdir() if (entry / "__init__.py").is_file()):
        lines.extend(_folder_lines(sub, depth + 1))
    return lines


def package_map() -> str:
    """The map of TOP_LEVEL as a nested Markdown list."""
    return "\n".join(line for folder in TOP_LEVEL for line in _folder_lines(ROOT / folder, 0)) + "\n"


def readme_map(readme: str) -> str:
    """The map as the README holds it, between its markers."""
    if BEGIN not in readme or END not in readme:
        raise ValueError(f"{README.name} has no package map between {BEGIN!r} and {END!r}")
    return readme.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n") + "\n"


def with_map(readme: str, new_map: str) -> str:
    """`readme` with its map replaced by `new_map`."""
    before, rest = readme.split(BEGIN, 1)
    after = rest.split(END, 1)[1]
    return f"{before}{BEGIN}\n{new_map}{END}{after}"


def main(arguments: list[str]) -> None:
    """Print the map, or with --write put it into the README."""
    if arguments == ["--write"]:
        README.write_text(with_map(README.read_text(), package_map()))
    elif not arguments:
        print(package_map(), end="")
    else:
        raise SystemExit("usage: python scripts/package_map.py [--write]")


if __name__ == "__main__":
    main(sys.argv[1:])
