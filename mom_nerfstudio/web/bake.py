"""The loop of a trained model, baked for the web page: every Gaussian once, and the moving ones' poses along it.

The model renders loop time t as two copies of the scene (`mom_nerfstudio.loop`): one with the moving Gaussians
carried tN frames forward, with the residual deformation at time coordinate t, and one carried (1 - t)N frames back,
at time coordinate t - 1. Both copies are the same function of the motion s in frames: the Gaussians posed by
`gaussians_at` with `frames = s` and time coordinate s / N, for s in [-N, N] (the forward copy takes s = tN, the
backward one s = tN - N). So one table of poses at s = -N, -N + k, ..., N serves both copies; the page interpolates
between neighbouring poses, as the model's path table is interpolated between its samples.

Colours are the Gaussians' spherical harmonics evaluated along the rays of the input camera (the page's views stay
close to it), so a degree above 0 costs nothing in the page and the input view is reproduced exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from nerfstudio.models.splatfacto import get_viewmat

from mom_nerfstudio.loop import LoopTerm
from mom_nerfstudio.model import Mom4dModel
from mom_nerfstudio.rendering.cpu_rasterizer.projection import view_dependent_colors
from mom_nerfstudio.web.camera import WebCamera

SHAPE_CHANGE_TOLERANCE = 1e-3
"""Largest change of a unit quaternion's components or of a log-scale over the loop below which the moving Gaussians
keep their rest rotation and scale (the poses then carry positions only)."""


@dataclass
class BakedLoop:
    """The Gaussians of a loop, moving ones first, as numpy arrays on the CPU.

    `means`, `quats` (unit, wxyz), `log_scales`, `colours` (RGB in [0, 1]) and `opacities` cover every Gaussian at
    rest; the first `moving` of them also have a pose at each of `pose_frames`: `pose_means` [P, M, 3] and, when the
    residual changes their shape, `pose_quats` [P, M, 4] and `pose_log_scales` [P, M, 3]. `source_rows` are the
    Gaussians' rows in the model.
    """

    means: np.ndarray
    quats: np.ndarray
    log_scales: np.ndarray
    colours: np.ndarray
    opacities: np.ndarray
    moving: int
    pose_frames: list[float]
    pose_means: np.ndarray
    pose_quats: np.ndarray | None
    pose_log_scales: np.ndarray | None
    num_frames: int
    loop_blend: str
    background: list[float]
    source_rows: np.ndarray

    @property
    def still(self) -> int:
        """How many Gaussians never move."""
        return self.means.shape[0] - self.moving

    def without_pose_shapes(self) -> BakedLoop:
        """The same loop with the moving Gaussians keeping their rest rotation and scale."""
        return _replace(self, pose_quats=None, pose_log_scales=None)

    def keeping_still(self, keep: np.ndarray) -> BakedLoop:
        """The loop with only the still Gaussians whose entry in `keep` [still] is true."""
        rows = np.concatenate([np.ones(self.moving, dtype=bool), np.asarray(keep, dtype=bool)])
        return _replace(
            self,
            means=self.means[rows],
            quats=self.quats[rows],
            log_scales=self.log_scales[rows],
            colours=self.colours[rows],
            opacities=self.opacities[rows],
            source_rows=self.source_rows[rows],
        )


def _replace(loop: BakedLoop, **changes) -> BakedLoop:
    return BakedLoop(**{**loop.__dict__, **changes})


def pose_frames(num_frames: int, frame_step: int) -> list[float]:
    """The motions, in frames, at which poses are stored: -N to N every `frame_step` frames (N itself included)."""
    frames = list(range(-num_frames, num_frames, frame_step)) + [num_frames]
    return [float(frame) for frame in frames]


def _pose(model: Mom4dModel, frames: float) -> dict[str, torch.Tensor]:
    term = LoopTerm(weight=1.0, frames=frames, time_coordinate=frames / model.num_frames)
    return model.gaussians_at([term])[0]


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().float().cpu().numpy()


def _unit(quats: torch.Tensor) -> torch.Tensor:
    return quats / quats.norm(dim=-1, keepdim=True).clamp(min=1e-12)


@torch.no_grad()
def bake_loop(model: Mom4dModel, camera: WebCamera, frame_step: int = 1) -> BakedLoop:
    """Bake `model`'s loop: its Gaussians at rest, and the moving ones' poses every `frame_step` frames of motion.

    A Gaussian moves when any pose puts it elsewhere than at rest, or turns or scales it; the model runs on its own
    device and the poses are computed one at a time (a pose holds every Gaussian).
    """
    if frame_step < 1:
        raise ValueError(f"frame_step must be at least 1, got {frame_step}")
    frames = pose_frames(model.num_frames, frame_step)
    rest = {"means": model.means, "quats": model.quats, "scales": model.scales}
    moving = torch.zeros(model.num_points, dtype=torch.bool, device=model.means.device)
    shape_change = torch.zeros_like(moving)
    for frame in frames:
        pose = _pose(model, frame)
        moving |= (pose["means"] != rest["means"]).any(dim=-1)
        turned = (_unit(pose["quats"]) - _unit(rest["quats"])).abs().amax(dim=-1) > SHAPE_CHANGE_TOLERANCE
        scaled = (pose["scales"] - rest["scales"]).abs().amax(dim=-1) > SHAPE_CHANGE_TOLERANCE
        shape_change |= turned | scaled
        moving |= turned | scaled
    moving_rows = torch.nonzero(moving)[:, 0]
    order = torch.cat([moving_rows, torch.nonzero(~moving)[:, 0]])
    poses = [{name: values[moving_rows] for name, values in _pose(model, frame).items()} for frame in frames]
    sh_degree, colours, opacities = model._appearance()
    camera_to_world = torch.as_tensor(camera.camera_to_world[:3], dtype=model.means.dtype, device=model.means.device)
    viewmat = get_viewmat(camera_to_world[None])
    colours = view_dependent_colors(rest["means"], colours, viewmat, sh_degree)[0]
    with_shapes = bool(shape_change.any())
    return BakedLoop(
        means=_numpy(rest["means"][order]),
        quats=_numpy(_unit(rest["quats"][order])),
        log_scales=_numpy(rest["scales"][order]),
        colours=np.clip(_numpy(colours[order]), 0.0, 1.0),
        opacities=_numpy(opacities[order]),
        moving=int(moving_rows.numel()),
        pose_frames=frames,
        pose_means=np.stack([_numpy(pose["means"]) for pose in poses]),
        pose_quats=np.stack([_numpy(_unit(pose["quats"])) for pose in poses]) if with_shapes else None,
        pose_log_scales=np.stack([_numpy(pose["scales"]) for pose in poses]) if with_shapes else None,
        num_frames=int(model.num_frames),
        loop_blend=str(model.loop_blend),
        background=[float(value) for value in model._get_background_color().reshape(-1)[:3].cpu()],
        source_rows=order.cpu().numpy(),
    )
