"""`mom4d-export web` at the command line: bad inputs stop it in one line before anything is written, the PLY export
keeps its own invocation, and an export replaces a folder only when asked."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from model_fixtures import tiny_model
from web_fixtures import seed_camera

from mom_nerfstudio.cli import export_entrypoint
from mom_nerfstudio.errors import Mom4dInputError
from mom_nerfstudio.web import page
from mom_nerfstudio.web.camera import default_limits
from mom_nerfstudio.web.export import WebOptions, export_web


def run_export(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Run `mom4d-export ARGS`; its exit status and what it printed on stderr."""
    monkeypatch.setattr(sys, "argv", ["mom4d-export", *args])
    with pytest.raises(SystemExit) as exit_info:
        export_entrypoint()
    return exit_info.value.code, capsys.readouterr().err


def splatfacto_config(tmp_path: Path) -> Path:
    """The config.yml of a run of another method (nerfstudio's splatfacto)."""
    from nerfstudio.configs.method_configs import method_configs

    path = tmp_path / "splatfacto" / "config.yml"
    path.parent.mkdir()
    path.write_text(yaml.dump(method_configs["splatfacto"]))
    return path


def test_a_run_of_another_method_is_refused_in_one_line(tmp_path, monkeypatch, capsys) -> None:
    config = splatfacto_config(tmp_path)
    output = tmp_path / "page"
    status, error = run_export(monkeypatch, capsys, "web", "--load-config", str(config), "--output-dir", str(output))
    assert status == 2
    assert (
        error
        == f"mom4d-export web: --load-config {config} is not the config.yml of a mom4d run (train one with ns-train mom4d).\n"
    )
    assert not output.exists()


def test_an_output_folder_holding_other_files_is_refused_without_overwrite(tmp_path, monkeypatch, capsys) -> None:
    output = tmp_path / "page"
    output.mkdir()
    (output / "notes.txt").write_text("mine")
    # Refused before the run is even read.
    args = ("web", "--load-config", str(tmp_path / "config.yml"), "--output-dir", str(output))
    status, error = run_export(monkeypatch, capsys, *args)
    assert status == 2
    assert error == (
        f"mom4d-export web: --output-dir {output} already holds files; name a new or empty folder, or pass "
        "--overwrite True to replace its contents.\n"
    )
    assert sorted(path.name for path in output.iterdir()) == ["notes.txt"]


def test_the_export_refuses_a_folder_of_other_files_and_replaces_it_when_asked(tmp_path) -> None:
    output = tmp_path / "page"
    output.mkdir()
    (output / "notes.txt").write_text("mine")
    camera = seed_camera()
    options = WebOptions(previews=False)
    with pytest.raises(Mom4dInputError, match="already holds files"):
        export_web(tiny_model(), camera, default_limits(camera), output, options)
    assert sorted(path.name for path in output.iterdir()) == ["notes.txt"]
    export_web(tiny_model(), camera, default_limits(camera), output, options, overwrite=True)
    assert sorted(path.name for path in output.iterdir()) == ["index.html", "scene.bin", "scene.json", "viewer.js"]


def test_a_missing_viewer_bundle_names_the_command_that_builds_it(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(page, "STATIC_DIR", tmp_path)
    with pytest.raises(
        Mom4dInputError,
        match=r"^The web viewer's script .* is missing; build it with: cd .*js && npm ci && npm run build$",
    ):
        page.viewer_bundle()


def test_bad_options_are_refused_in_one_line(tmp_path, monkeypatch, capsys) -> None:
    status, error = run_export(
        monkeypatch, capsys, "web", "--load-config", "x.yml", "--output-dir", str(tmp_path / "p"), "--frame-step", "0"
    )
    assert (
        status == 2 and error.startswith("mom4d-export web: --frame-step must be at least 1") and error.count("\n") == 1
    )


def test_the_ply_export_keeps_its_invocation(tmp_path, monkeypatch, capsys) -> None:
    missing = tmp_path / "missing.yml"
    status, error = run_export(monkeypatch, capsys, "--load-config", str(missing), "--time", "0.25")
    assert status == 2
    assert error.startswith(f"mom4d-export: --load-config {missing} is not a file")


def test_the_previews_are_written_beside_the_page(tmp_path) -> None:
    camera = seed_camera()
    result = export_web(tiny_model(), camera, default_limits(camera), tmp_path / "page", WebOptions())
    names = sorted(path.name for path in result.previews)
    assert names in (["preview.gif", "preview.mp4"], ["preview.gif"])
    import imageio.v2 as imageio

    frames = imageio.mimread(tmp_path / "page" / "preview.gif")
    assert len(frames) == tiny_model().num_frames


def test_a_scene_over_the_budget_is_shrunk_to_fit_or_refused_before_anything_is_written(tmp_path) -> None:
    camera = seed_camera()
    model = tiny_model()
    full = export_web(model, camera, default_limits(camera), tmp_path / "full", WebOptions(previews=False))
    budget = full.scene_bytes - 2000
    fitted = export_web(
        model,
        camera,
        default_limits(camera),
        tmp_path / "fitted",
        WebOptions(previews=False, max_megabytes=budget / 1e6),
    )
    assert fitted.scene_bytes <= budget and (tmp_path / "fitted" / "scene.bin").stat().st_size == fitted.scene_bytes
    assert fitted.gaussians < full.gaussians and fitted.moving == full.moving
    assert len(fitted.given_up) == 1 and "still Gaussians, those of lowest opacity" in fitted.given_up[0]
    with pytest.raises(Mom4dInputError, match="raise --max-megabytes or store fewer poses with a larger --frame-step"):
        export_web(model, camera, default_limits(camera), tmp_path / "refused", WebOptions(max_megabytes=0.001))
    assert not (tmp_path / "refused").exists()
