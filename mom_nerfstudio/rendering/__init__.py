"""Gaussian rasterisation: gsplat on CUDA, a differentiable PyTorch rasteriser elsewhere."""

from mom_nerfstudio.rendering.cpu_rasterizer import rasterize_gaussians_torch
from mom_nerfstudio.rendering.rasterize import rasterization

__all__ = ["rasterization", "rasterize_gaussians_torch"]
