"""The page's files: the viewer (`static/index.html` and the bundled `static/viewer.js`, built from `js/` by
esbuild) copied beside the scene, into an output folder that holds nothing else."""

from __future__ import annotations

import shutil
from pathlib import Path

from mom_nerfstudio.errors import Mom4dInputError

STATIC_DIR = Path(__file__).resolve().parent / "static"
JS_DIR = Path(__file__).resolve().parent / "js"
PAGE_FILES = ("index.html", "viewer.js")
BUILD_COMMAND = f"cd {JS_DIR} && npm ci && npm run build"
"""How the bundle is built (scripts/install.sh runs it where npm is found)."""


def viewer_bundle() -> Path:
    """The bundled viewer script; a one-line error naming the build command when it is missing."""
    bundle = STATIC_DIR / "viewer.js"
    if not bundle.is_file():
        raise Mom4dInputError(f"The web viewer's script {bundle} is missing; build it with: {BUILD_COMMAND}")
    return bundle


def check_output_folder(folder: Path, overwrite: bool) -> None:
    """Refuse an output folder that is a file, or that holds files, unless `overwrite`."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise Mom4dInputError(f"--output-dir {folder} is a file; name a folder to write the page into.")
    if folder.is_dir() and any(folder.iterdir()) and not overwrite:
        raise Mom4dInputError(
            f"--output-dir {folder} already holds files; name a new or empty folder, or pass --overwrite True to "
            "replace its contents."
        )


def copy_viewer(folder: Path) -> None:
    """Copy the page and its script into `folder`."""
    viewer_bundle()
    for name in PAGE_FILES:
        shutil.copyfile(STATIC_DIR / name, Path(folder) / name)
