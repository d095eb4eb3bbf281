"""Console entry points for trained runs: `mom4d-camera-paths` (test paths with time, or a check of a camera path) and
`mom4d-export` (PLY at a time; `mom4d-export web`, a web page that plays the loop)."""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import yaml
from nerfstudio.engine.trainer import TrainerConfig

from mom_nerfstudio.camera_path_check import CameraPathSummary, check_camera_path
from mom_nerfstudio.camera_paths import (
    render_command,
    run_dataset,
    write_camera_paths,
)
from mom_nerfstudio.command_line import run_command
from mom_nerfstudio.errors import Mom4dInputError
from mom_nerfstudio.log import logger
from mom_nerfstudio.loop import wrap_time
from mom_nerfstudio.model import Mom4dModel, Mom4dModelConfig

if TYPE_CHECKING:
    from mom_nerfstudio.web.export import WebExport


def load_run_config(config_path: Path) -> TrainerConfig:
    """The TrainerConfig of a mom4d run from its config.yml; explains what is wrong with the path otherwise."""
    config_path = Path(config_path)
    if not config_path.is_file():
        raise Mom4dInputError(
            f"--load-config {config_path} is not a file; pass the config.yml of a trained run "
            "(outputs/<experiment>/mom4d/<timestamp>/config.yml)."
        )
    try:
        config = yaml.load(config_path.read_text(), Loader=yaml.Loader)
    except yaml.YAMLError as error:
        raise Mom4dInputError(
            f"--load-config {config_path} is not a readable nerfstudio config.yml ({error})."
        ) from error
    if not isinstance(config, TrainerConfig) or not isinstance(config.pipeline.model, Mom4dModelConfig):
        raise Mom4dInputError(
            f"--load-config {config_path} is not the config.yml of a mom4d run (train one with ns-train mom4d)."
        )
    return config


@dataclass
class CameraPathsCommand:
    """Write the paper's four test camera paths (up-down, side, zoom-in, circle) with loop times, for ns-render; or
    check a camera path before ns-render reads it (--check FILE)."""

    load_config: Optional[Path] = None
    """config.yml of the trained run whose test camera paths are written."""
    check: Optional[Path] = None
    """A camera-path JSON to check (one edited by hand or drawn in the viewer) for what ns-render camera-path reads
    from it, instead of writing paths; nothing is written."""
    output_dir: Optional[Path] = None
    """Folder for the JSON files; default: camera_paths/ in the run's folder."""
    loops: int = 1
    """Make each video at least this many loops long (the trajectory is stretched to fit)."""
    scale: float = 1.0
    """Multiply every camera translation by this factor."""
    fps: float = 30.0
    """Frames per second of the rendered videos."""
    overwrite: bool = False
    """Replace path files that differ from what this command writes (paths edited by hand, or other options)."""


def camera_paths(command: CameraPathsCommand) -> None:
    """Check the camera path that --check names, or write the test camera paths of the run --load-config names."""
    if (command.load_config is None) == (command.check is None):
        raise Mom4dInputError(
            "Give exactly one of --load-config RUN/config.yml (write the run's test camera paths) and --check FILE "
            "(check a camera path for ns-render camera-path)."
        )
    if command.check is not None:
        report_camera_path(command.check)
    else:
        write_test_camera_paths(command)


def report_camera_path(path: Path) -> CameraPathSummary:
    """Check a camera path and log what ns-render camera-path will render from it."""
    summary = check_camera_path(path)
    logger.info(
        "%s: %d frames of %d x %d over %g s; ns-render camera-path can read it.",
        path,
        summary.frames,
        summary.width,
        summary.height,
        summary.seconds,
    )
    if summary.untimed_frames:
        logger.warning(
            "%s: %d of %d frames have no render_time, so ns-render renders every frame at t = 0 (the scene stands "
            "still); give every frame a render_time to animate the loop.",
            path,
            summary.untimed_frames,
            summary.frames,
        )
    return summary


def write_test_camera_paths(command: CameraPathsCommand) -> list[Path]:
    """Write the camera paths of a run and log the ns-render commands that render them."""
    assert command.load_config is not None, "camera_paths checks that --load-config is given"
    config = load_run_config(command.load_config)
    run_dir = command.load_config.parent
    output_dir = command.output_dir or run_dir / "camera_paths"
    written = write_camera_paths(
        run_dataset(config),
        output_dir,
        loops=command.loops,
        scale=command.scale,
        fps=command.fps,
        overwrite=command.overwrite,
    )
    logger.info("Wrote %d camera paths into %s. Render them with:", len(written), output_dir)
    for path in written:
        print(render_command(command.load_config, path, run_dir / "renders" / f"{path.stem}.mp4"))
    return written


@dataclass
class ExportCommand:
    """Write the scene at a loop time (--time) or one loop as a PLY sequence (--sequence) in the 3DGS PLY layout.
    (`mom4d-export web --help`: a web page that plays the loop.)"""

    load_config: Path
    """config.yml of the trained run."""
    time: Optional[float] = None
    """Loop time to export, in [0, 1) (other values wrap around); writes splat_t<time>.ply."""
    sequence: Optional[int] = None
    """Export one loop as this many files frame_000.ply ..., frame i at time i / N."""
    output_dir: Optional[Path] = None
    """Folder for the PLY files; default: exports/ in the run's folder."""


def export_run(command: ExportCommand) -> list[Path]:
    """Load a trained run and write the PLY files the command asks for."""
    if (command.time is None) == (command.sequence is None):
        raise Mom4dInputError(
            "Give exactly one of --time T (one PLY at loop time T) and --sequence N (N PLYs over a loop)."
        )
    if command.time is not None and not math.isfinite(command.time):
        raise Mom4dInputError(f"--time must be a number (a loop time in [0, 1)), got {command.time}.")
    if command.sequence is not None and command.sequence < 1:
        raise Mom4dInputError(f"--sequence must be at least 1, got {command.sequence}.")
    load_run_config(command.load_config)
    # Imported here, not at the top: they pull in nerfstudio's whole method registry (seconds to import),
    # which mom4d-camera-paths does not need.
    from nerfstudio.utils.eval_utils import eval_setup

    from mom_nerfstudio.export import export_sequence, export_time

    _, pipeline, _, _ = eval_setup(command.load_config, test_mode="inference")
    model = pipeline.model
    assert isinstance(model, Mom4dModel)
    output_dir = command.output_dir or command.load_config.parent / "exports"
    if command.sequence is not None:
        written = export_sequence(model, command.sequence, output_dir)
    else:
        time = wrap_time(command.time)
        written = [output_dir / f"splat_t{time:.3f}.ply"]
        export_time(model, time, written[0])
    logger.info("Wrote %d PLY file(s) into %s", len(written), output_dir)
    return written


@dataclass
class WebExportCommand:
    """Write a self-contained web page that plays the loop (index.html, viewer.js, scene.json, scene.bin) and the input
    view's loop as preview.mp4 and preview.gif; serve the folder with `python -m http.server` to view it."""

    load_config: Path
    """config.yml of the trained run."""
    output_dir: Path
    """Folder for the page; it must be new or empty unless --overwrite True."""
    overwrite: bool = False
    """Replace what the output folder holds (only once the new page is complete)."""
    max_megabytes: float = 30.0
    """Size budget of the scene data (scene.bin), in MB: over it, the moving Gaussians' per-frame rotations and scales
    are left out, then as many of the lowest-opacity still Gaussians as needed."""
    frame_step: int = 2
    """Store the moving Gaussians' poses every this many frames of motion (the page interpolates between them)."""
    fps: float = 30.0
    """Frames per second at which the page plays the loop (and the previews run)."""
    previews: bool = True
    """Also write preview.mp4 and preview.gif of the input view's loop, rendered by the model."""
    preview_width: Optional[int] = None
    """Width of the previews in pixels; default: the input view's own."""


def export_web_run(command: WebExportCommand) -> WebExport:
    """Load a trained run and write its web page."""
    from mom_nerfstudio.web.camera import dataset_view_limits, input_web_camera
    from mom_nerfstudio.web.export import WebOptions, export_web
    from mom_nerfstudio.web.page import check_output_folder, viewer_bundle

    if command.frame_step < 1 or command.max_megabytes <= 0 or command.fps <= 0:
        raise Mom4dInputError(
            "--frame-step must be at least 1, and --max-megabytes and --fps positive "
            f"(got {command.frame_step}, {command.max_megabytes}, {command.fps})."
        )
    # Checked before the model loads (seconds), not after.
    check_output_folder(command.output_dir, command.overwrite)
    viewer_bundle()
    config = load_run_config(command.load_config)
    dataset = run_dataset(config)
    from nerfstudio.utils.eval_utils import eval_setup

    _, pipeline, _, _ = eval_setup(command.load_config, test_mode="inference")
    model = pipeline.model
    assert isinstance(model, Mom4dModel)
    camera = input_web_camera(dataset)
    options = WebOptions(
        fps=command.fps,
        frame_step=command.frame_step,
        max_megabytes=command.max_megabytes,
        previews=command.previews,
        preview_width=command.preview_width,
    )
    return export_web(
        model, camera, dataset_view_limits(dataset, camera), command.output_dir, options, command.overwrite
    )


def camera_paths_entrypoint() -> None:
    """Console entry point of `mom4d-camera-paths`."""
    run_command(CameraPathsCommand, camera_paths, "mom4d-camera-paths")


def export_entrypoint() -> None:
    """Console entry point of `mom4d-export`: `mom4d-export web ...` writes a web page, any other arguments PLY files."""
    if sys.argv[1:2] == ["web"]:
        run_command(WebExportCommand, export_web_run, "mom4d-export web", sys.argv[2:])
    else:
        run_command(ExportCommand, export_run, "mom4d-export")
