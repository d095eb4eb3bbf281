"""Projection: 3-D Gaussians to what each camera sees of them, with gsplat's own PyTorch functions.

Each Gaussian becomes a 2-D mean, an inverse 2-D covariance ("conic", blurred by `eps2d`), a depth and
a pixel radius (0 means culled: behind the near plane, beyond the far plane, off the image, or not
above `radius_clip`). "antialiased" mode scales opacities by the blur's compensation. Spherical
harmonics are evaluated along the camera-to-Gaussian ray, plus 0.5 and clamped at 0, as gsplat does.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from gsplat.cuda._torch_impl import (
    _fully_fused_projection,
    _quat_scale_to_covar_preci,
    _spherical_harmonics,
)
from torch import Tensor

from mom_nerfstudio.rendering.cpu_rasterizer.options import RasterOptions


class Projection(NamedTuple):
    """Gaussians seen by each camera, each [C, N, ...]; a radius of 0 marks a culled Gaussian."""

    radii: Tensor
    means2d: Tensor
    depths: Tensor
    conics: Tensor
    opacities: Tensor


def world_covariances(quats: Tensor, scales: Tensor) -> Tensor:
    """Covariances [N, 3, 3] of Gaussians given as rotations (wxyz, normalised here) and scales."""
    covars, _ = _quat_scale_to_covar_preci(quats, scales, compute_preci=False, triu=False)
    return covars


def project_gaussians(
    means: Tensor,
    covars: Tensor,
    opacities: Tensor,
    viewmats: Tensor,
    Ks: Tensor,
    width: int,
    height: int,
    options: RasterOptions,
) -> Projection:
    """Project the Gaussians into every camera with gsplat's PyTorch projection.

    Gaussians not beyond the near plane are culled. Before projecting, they are moved to a harmless
    point in front of the camera (and their radius zeroed after): at depths near 0 the projection's
    derivatives are infinite, and the zero gradient they receive would turn into NaN.
    """
    antialiased = options.rasterize_mode == "antialiased"
    outputs = []
    for camera in range(viewmats.shape[0]):
        viewmat = viewmats[camera : camera + 1]
        with torch.no_grad():
            depths = means.detach() @ viewmat[0, 2, :3] + viewmat[0, 2, 3]
            in_front = depths > options.near_plane  # False for NaN depths too
            harmless_point = torch.linalg.inv(viewmat[0])[:3] @ means.new_tensor([0.0, 0.0, 1.0, 1.0])
        safe_means = torch.where(in_front[:, None], means, harmless_point)
        radii, means2d, depths, conics, compensations = _fully_fused_projection(
            safe_means,
            covars,
            viewmat,
            Ks[camera : camera + 1],
            width,
            height,
            eps2d=options.eps2d,
            near_plane=options.near_plane,
            far_plane=options.far_plane,
            calc_compensations=antialiased,
            camera_model=options.camera_model,
        )
        radii = radii * in_front
        if options.radius_clip > 0:
            radii = torch.where(radii <= options.radius_clip, torch.zeros_like(radii), radii)
        outputs.append((radii, means2d, depths, conics, compensations))

    radii, means2d, depths, conics = (torch.cat(values) for values in list(zip(*outputs))[:4])
    opacities = opacities.expand(viewmats.shape[0], -1)
    if antialiased:
        opacities = opacities * torch.cat([compensations for *_, compensations in outputs])
    return Projection(radii.int(), means2d, depths, conics, opacities)


def view_dependent_colors(means: Tensor, colors: Tensor, viewmats: Tensor, sh_degree: int | None) -> Tensor:
    """Per-camera colours [C, N, D]: as given, or evaluated from SH along the camera-to-Gaussian ray."""
    n_cameras = viewmats.shape[0]
    if sh_degree is None:
        return colors.expand(n_cameras, -1, -1) if colors.dim() == 2 else colors
    camera_centres = torch.inverse(viewmats)[:, :3, 3]
    directions = means[None, :, :] - camera_centres[:, None, :]
    coefficients = colors.expand(n_cameras, -1, -1, -1) if colors.dim() == 3 else colors
    return torch.clamp_min(_spherical_harmonics(sh_degree, directions, coefficients) + 0.5, 0.0)
