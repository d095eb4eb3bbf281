"""The committed viewer bundle is what its sources build to, with the pinned esbuild (skipped where `npm ci` has not
installed it)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mom_nerfstudio.web.page import JS_DIR, STATIC_DIR

ESBUILD = JS_DIR / "node_modules" / ".bin" / "esbuild"


@pytest.mark.skipif(not ESBUILD.is_file(), reason=f"esbuild is not installed (cd {JS_DIR} && npm ci)")
def test_the_committed_bundle_is_built_from_the_sources(tmp_path: Path) -> None:
    built = tmp_path / "viewer.js"
    subprocess.run(["npm", "run", "build", "--", f"--outfile={built}"], cwd=JS_DIR, check=True, capture_output=True)
    assert built.read_bytes() == (STATIC_DIR / "viewer.js").read_bytes()
