"""Export the looping scene at a chosen time (or a whole loop) as standard 3D Gaussian Splatting PLY files.

`ns-export gaussian-splat` writes the canonical Gaussians, the scene as it is at t = 0. `mom4d-export` writes the
scene at any loop time t (`--time 0.25`), or a loop as a sequence of N files `frame_000.ply` ... at t = i / N
(`--sequence N`), in the same PLY layout (x y z, nx ny nz, f_dc_*, f_rest_* when the SH degree is above 0,
opacity, scale_*, rot_*; log-scales, logit opacities, unnormalised quaternions), which common splat viewers read.

The model renders a loop time t as two renders blended per pixel, one with the moving Gaussians carried forward
along their paths by tN frames (weight 1 - t) and one carried back by (1 - t)N frames (weight t); see
`mom_nerfstudio.loop`. A PLY is a single set of Gaussians and cannot hold a blend of renders, so the export approximates
it: the static Gaussians (those that sit at the same place in both renders) are written once at full opacity,
and the moving ones twice, once per render, at that render's position with the opacity scaled by its weight
(logit(sigmoid(o) * w)). Where both copies overlap, this is close to the blend; where only one copy covers a
pixel, the model shows it fully while the PLY shows it faded by its weight, copies are composited by depth
rather than averaged, and the contrast-preserving blend's local rescaling is not reproduced. At t = 0 there is one render and the export is exact.

Like `ns-export`, Gaussians with non-finite values or an opacity below 1/255 (which the rasteriser skips) are
left out.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np
import torch

from mom_nerfstudio.atomic import atomic_file
from mom_nerfstudio.log import logger
from mom_nerfstudio.loop import loop_terms, wrap_time
from mom_nerfstudio.model import Mom4dModel
from mom_nerfstudio.ply import write_vertex_ply

_MIN_OPACITY_LOGIT = math.log((1.0 / 255.0) / (1.0 - 1.0 / 255.0))


@dataclass
class SplatCloud:
    """A set of 3D Gaussians in the parametrisation of 3DGS PLY files."""

    means: torch.Tensor  # [N, 3]
    log_scales: torch.Tensor  # [N, 3]
    quats: torch.Tensor  # [N, 4], wxyz, unnormalised
    opacity_logits: torch.Tensor  # [N, 1]
    sh_dc: torch.Tensor  # [N, 3], degree-0 SH coefficients
    sh_rest: torch.Tensor  # [N, K, 3], higher-degree SH coefficients (K = 0 at degree 0)

    def __len__(self) -> int:
        return self.means.shape[0]

    def subset(self, selection: torch.Tensor) -> SplatCloud:
        """The Gaussians picked by a boolean mask or an index tensor."""
        return SplatCloud(*(getattr(self, field.name)[selection] for field in fields(self)))

    @staticmethod
    def concatenate(clouds: list[SplatCloud]) -> SplatCloud:
        """One cloud holding the Gaussians of `clouds`, in order."""
        return SplatCloud(
            *(torch.cat([getattr(cloud, field.name) for cloud in clouds]) for field in fields(SplatCloud))
        )


def scale_opacity_logits(logits: torch.Tensor, weight: float) -> torch.Tensor:
    """logit(sigmoid(logits) * weight): opacities multiplied by a weight in (0, 1], kept in logit space."""
    if weight == 1.0:
        return logits
    scaled = torch.sigmoid(logits) * weight
    return torch.log(scaled) - torch.log1p(-scaled)


@torch.no_grad()
def splats_at_time(model: Mom4dModel, t: float) -> SplatCloud:
    """The Gaussians that approximate the model's render at loop time `t` (see the module docstring)."""
    t = wrap_time(t)
    terms = loop_terms(t, model.num_frames)
    posed = model.gaussians_at(terms)
    moving = torch.zeros(model.num_points, dtype=torch.bool, device=model.means.device)
    for other in posed[1:]:
        for name in ("means", "quats", "scales"):
            moving |= (other[name] != posed[0][name]).any(dim=-1)
    renders = [
        SplatCloud(
            means=gaussians["means"],
            log_scales=gaussians["scales"],
            quats=gaussians["quats"],
            opacity_logits=scale_opacity_logits(model.opacities, term.weight),
            sh_dc=model.shs_0,  # degree 0 stores colour logits: shs_0 converts them to SH, as ns-export does
            sh_rest=model.features_rest,
        )
        for gaussians, term in zip(posed, terms)
    ]
    static = replace(renders[0], opacity_logits=model.opacities)
    return SplatCloud.concatenate([static.subset(~moving), *(render.subset(moving) for render in renders)])


def _as_numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().float().cpu().numpy()


def ply_properties(cloud: SplatCloud) -> OrderedDict[str, np.ndarray]:
    """The vertex properties of a 3DGS PLY, in the order `ns-export gaussian-splat` writes them."""
    count = len(cloud)
    properties: OrderedDict[str, np.ndarray] = OrderedDict()
    means = _as_numpy(cloud.means)
    for index, axis in enumerate("xyz"):
        properties[axis] = means[:, index]
    for axis in ("nx", "ny", "nz"):
        properties[axis] = np.zeros(count, dtype=np.float32)
    sh_dc = _as_numpy(cloud.sh_dc)
    for index in range(3):
        properties[f"f_dc_{index}"] = sh_dc[:, index]
    # Channel-major order (all red coefficients, then green, then blue), as the reference 3DGS code stores them.
    sh_rest = _as_numpy(cloud.sh_rest.transpose(1, 2)).reshape(count, -1)
    for index in range(sh_rest.shape[1]):
        properties[f"f_rest_{index}"] = sh_rest[:, index]
    properties["opacity"] = _as_numpy(cloud.opacity_logits)[:, 0]
    log_scales = _as_numpy(cloud.log_scales)
    for index in range(3):
        properties[f"scale_{index}"] = log_scales[:, index]
    quats = _as_numpy(cloud.quats)
    for index in range(4):
        properties[f"rot_{index}"] = quats[:, index]
    return properties


def write_splat_ply(path: Path, cloud: SplatCloud) -> int:
    """Write `cloud` as a 3DGS PLY at `path`, leaving out non-finite and invisible Gaussians; returns the count written."""
    properties = ply_properties(cloud)
    keep = np.ones(len(cloud), dtype=bool)
    for values in properties.values():
        keep &= np.isfinite(values)
    keep &= properties["opacity"] >= _MIN_OPACITY_LOGIT
    if not keep.all():
        left_out = int((~keep).sum())
        logger.info(
            "%s: leaving out %d of %d Gaussians (non-finite or opacity below 1/255).", path.name, left_out, keep.size
        )
    properties = OrderedDict((name, np.ascontiguousarray(values[keep])) for name, values in properties.items())
    with atomic_file(path) as temp_path:
        write_vertex_ply(temp_path, properties, comments=("Vertical Axis: z",))
    return int(keep.sum())


def sequence_times(num_frames: int) -> list[float]:
    """Loop times of a sequence of `num_frames` files covering one loop: i / num_frames."""
    return [index / num_frames for index in range(num_frames)]


def export_time(model: Mom4dModel, t: float, path: Path) -> int:
    """Write the scene at loop time `t` to `path`; returns the number of Gaussians written."""
    return write_splat_ply(Path(path), splats_at_time(model, t))


def export_sequence(model: Mom4dModel, num_frames: int, output_dir: Path) -> list[Path]:
    """Write one loop as `frame_000.ply` ... (frame i at t = i / num_frames) into `output_dir`; returns the paths."""
    paths = []
    for index, t in enumerate(sequence_times(num_frames)):
        path = Path(output_dir) / f"frame_{index:03d}.ply"
        export_time(model, t, path)
        paths.append(path)
    return paths
