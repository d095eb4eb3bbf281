"""The detector benchmark's `--code`: it measures another checkout's detectors or refuses, never a mix."""

import subprocess
import sys

from conftest import PROJECT_ROOT


def test_code_of_another_layout_is_refused_rather_than_mixed_with_this_checkout(tmp_path):
    # A checkout whose packages lack the modules the benchmark reads: an editable install would find this
    # checkout's instead, and the numbers would claim to be the other's.
    for package in ("mom_nerfstudio", "dataparsers"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    result = subprocess.run(
        [sys.executable, "scripts/benchmark_detectors.py", "--code", str(tmp_path), "--output", str(tmp_path / "out")],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert "has no mom_nerfstudio.synthesis.segmentation" in result.stderr
    assert not (tmp_path / "out" / "results.json").exists()
