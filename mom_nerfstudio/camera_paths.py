"""The paper's four test camera paths, with a loop-time ramp, as nerfstudio camera-path JSON.

`mom4d-camera-paths --load-config outputs/.../config.yml` writes `up_down.json`, `side.json`, `zoom_in.json` and
`circle.json` (into `<run dir>/camera_paths/` unless `--output-dir` says otherwise), in the format that
`ns-render camera-path --camera-path-filename ...` reads.

Trajectories (shared by 3D-MOM and 3D-Cinemagraphy), as offsets of the input camera in its own frame: x to the
right, y up, z backwards (nerfstudio's OpenGL camera axes; the camera looks along -z). The rotation stays that
of the input camera.

Scale: 3D-MOM applies the offsets below in metres, to ZoeDepth's metric depth, in which a landscape's nearest
surface lies metres away; 3D-Cinemagraphy applied the same numbers to depth whose nearest point is 1, which moves
the camera several times further relative to the scene. mom4d keeps the paper's scale: its depth puts the nearest
substantial surface (the 1st percentile of the scene's depth) at 1, and a photo taken at eye height
(EYE_HEIGHT_METRES) sees the ground at the bottom of its frame about EYE_HEIGHT_METRES / tan(fov_y / 2) metres away
(about 5 m at mom4d's default field of view), so the offsets are divided by that distance (`metric_scale`).
`--scale` multiplies every offset on top (about 5 gives 3D-Cinemagraphy's harsher paths).

- up-down: y from +0.08 to -0.08, 60 frames;
- side: x from +0.09 to -0.09, 60 frames;
- zoom-in: z from 0 to -0.24 (0.24 forward), 60 frames;
- circle: x = 0.04 cos(a), y = 0.04 sin(a), z = 0.09 cos(a), a over two full turns, 90 frames; it is periodic,
  so its last frame leads back into its first.

Time: frame i of a video renders the loop at time (i / N) mod 1 for a loop of N frames, so the scene moves one
loop frame per video frame. A video is made of whole loops (at least `--loops K`, and at least the trajectory's
own frame count), so its last frame leads back into its first in time; the trajectory is resampled (same
extremes) to that length. With the periodic circle, the video loops seamlessly. Video length in seconds is
frames / `--fps`.

A path file that already exists with other content (a path edited by hand, or written with other options) is
kept: nothing is written unless `--overwrite True` is given.

Field of view and aspect ratio are the dataset's (vertical fov from fl_y and the image height). The camera-path
format has one focal length and a centred principal point, so the dataset's fl_x and cx, cy are not carried.

Rendering a path drawn in the viewer with time: the viewer's Render tab has, per keyframe, a time override
(enabled because the mom4d-data dataparser provides times); set a time on every keyframe, or the path keeps one
constant time. `ns-render camera-path` uses times only when every frame of the JSON has a `render_time`; a path
without times renders every frame at t = 0 (the model warns once). Times outside [0, 1), which the keyframe
spline can produce between keyframes, wrap around the loop.
"""

from __future__ import annotations

import json
import math
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from nerfstudio.engine.trainer import TrainerConfig

from dataparsers.dataset_format import InputCamera, SynthesizedDataset
from mom_nerfstudio.atomic import atomic_file
from mom_nerfstudio.errors import Mom4dInputError

OffsetFunction = Callable[[np.ndarray], np.ndarray]
"""Maps path progress s [F] in [0, 1] to camera-frame offsets [F, 3] (x right, y up, z backwards)."""


@dataclass(frozen=True)
class Trajectory:
    """A camera path relative to the input camera: its name, native length and offsets along the way."""

    name: str
    num_frames: int
    periodic: bool
    """Whether the path returns to its start: progress then stops one step short of 1, so frames do not repeat."""
    offsets: OffsetFunction

    def progress(self, num_frames: int) -> np.ndarray:
        """Progress in [0, 1] of each of `num_frames` evenly spaced frames."""
        if self.periodic:
            return np.arange(num_frames) / num_frames
        return np.linspace(0.0, 1.0, num_frames)


def _line(start: tuple[float, float, float], end: tuple[float, float, float]) -> OffsetFunction:
    start_array, end_array = np.asarray(start), np.asarray(end)
    return lambda s: start_array + s[:, None] * (end_array - start_array)


def _circle(s: np.ndarray) -> np.ndarray:
    angle = 4.0 * math.pi * s  # two turns
    return np.stack([0.04 * np.cos(angle), 0.04 * np.sin(angle), 0.09 * np.cos(angle)], axis=-1)


TEST_TRAJECTORIES: tuple[Trajectory, ...] = (
    Trajectory("up_down", 60, periodic=False, offsets=_line((0.0, 0.08, 0.0), (0.0, -0.08, 0.0))),
    Trajectory("side", 60, periodic=False, offsets=_line((0.09, 0.0, 0.0), (-0.09, 0.0, 0.0))),
    Trajectory("zoom_in", 60, periodic=False, offsets=_line((0.0, 0.0, 0.0), (0.0, 0.0, -0.24))),
    Trajectory("circle", 90, periodic=True, offsets=_circle),
)


def video_length(trajectory: Trajectory, loop_frames: int, loops: int) -> int:
    """Frames of a video along `trajectory`: whole loops of `loop_frames` frames, at least `loops` of them and
    at least the trajectory's own length, so that the time of the frame after the last is that of the first."""
    return loop_frames * max(loops, math.ceil(trajectory.num_frames / loop_frames))


def loop_times(num_frames: int, loop_frames: int) -> np.ndarray:
    """Loop time of each video frame: one loop frame per video frame, wrapping into [0, 1)."""
    return (np.arange(num_frames) % loop_frames) / loop_frames


EYE_HEIGHT_METRES = 1.6
"""The height above the ground a landscape photo is taken from, which places its nearest ground in metres."""


def metric_scale(camera: InputCamera) -> float:
    """Dataset units per metre: 1 / the distance of the nearest ground seen from eye height with the camera's fov."""
    return math.tan(math.radians(camera.fov_degrees) / 2.0) / EYE_HEIGHT_METRES


def camera_path(
    trajectory: Trajectory,
    camera: InputCamera,
    loop_frames: int,
    loops: int = 1,
    scale: float = 1.0,
    fps: float = 30.0,
) -> dict:
    """The nerfstudio camera-path document of `trajectory` around `camera`, with a loop time per frame."""
    if loop_frames < 1 or loops < 1 or fps <= 0:
        raise Mom4dInputError(
            f"The loop length and --loops must be at least 1 and --fps positive (got {loop_frames}, {loops}, {fps})."
        )
    num_frames = video_length(trajectory, loop_frames, loops)
    offsets = scale * metric_scale(camera) * trajectory.offsets(trajectory.progress(num_frames))
    rotation = camera.camera_to_world[:3, :3]
    positions = camera.camera_to_world[:3, 3] + offsets @ rotation.T
    frames = []
    for position, time in zip(positions, loop_times(num_frames, loop_frames)):
        pose = camera.camera_to_world.copy()
        pose[:3, 3] = position
        frames.append(
            {
                "camera_to_world": pose.reshape(-1).tolist(),
                "fov": camera.fov_degrees,
                "aspect": camera.width / camera.height,
                "render_time": float(time),
            }
        )
    return {
        "camera_type": "perspective",
        "render_height": camera.height,
        "render_width": camera.width,
        "seconds": num_frames / fps,
        "camera_path": frames,
    }


def run_dataset(config: TrainerConfig) -> SynthesizedDataset:
    """The dataset a mom4d run trained on: its own copy, which config.yml names as the dataparser's `dataset`."""
    dataparser_config = getattr(config.pipeline.datamanager, "dataparser", None)
    folder = getattr(dataparser_config, "dataset", None)
    if folder is None:
        raise Mom4dInputError(
            f"This run's dataparser is {type(dataparser_config).__name__}, not mom4d-data; "
            "camera paths with loop times need a run trained with `ns-train mom4d`."
        )
    return SynthesizedDataset.read(folder)


def write_camera_paths(
    dataset: SynthesizedDataset,
    output_dir: Path,
    loops: int = 1,
    scale: float = 1.0,
    fps: float = 30.0,
    trajectories: tuple[Trajectory, ...] = TEST_TRAJECTORIES,
    overwrite: bool = False,
) -> list[Path]:
    """Write `<name>.json` for each trajectory into `output_dir`; returns the paths written.

    Unless `overwrite`, an existing file whose content differs from what would be written is an error, raised
    before any file is written.
    """
    camera = dataset.input_camera()
    loop_frames = dataset.num_frames
    contents = {
        Path(output_dir) / f"{trajectory.name}.json": json.dumps(
            camera_path(trajectory, camera, loop_frames, loops=loops, scale=scale, fps=fps), indent=1
        )
        for trajectory in trajectories
    }
    if not overwrite:
        _refuse_to_replace_other_content(contents, Path(output_dir))
    for path, content in contents.items():
        with atomic_file(path) as temp_path:
            temp_path.write_text(content)
    return list(contents)


def _refuse_to_replace_other_content(contents: dict[Path, str], output_dir: Path) -> None:
    differing = [path.name for path, content in contents.items() if path.exists() and path.read_text() != content]
    if differing:
        raise Mom4dInputError(
            f"{', '.join(differing)} in {output_dir} {'differs' if len(differing) == 1 else 'differ'} from the camera "
            "paths these options give (edited, or written with other options); nothing was written. Pass "
            "--overwrite True to replace what is there, or choose another --output-dir."
        )


def render_command(config_path: Path, camera_path_file: Path, video: Path) -> str:
    """The `ns-render camera-path` command line that renders `camera_path_file` into `video`."""
    return shlex.join(
        [
            "ns-render",
            "camera-path",
            "--load-config",
            str(config_path),
            "--camera-path-filename",
            str(camera_path_file),
            "--output-path",
            str(video),
        ]
    )
