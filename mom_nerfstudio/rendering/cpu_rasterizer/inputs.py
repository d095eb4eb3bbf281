"""Shape checks of the tensors handed to the PyTorch rasteriser, with gsplat's expectations."""

from __future__ import annotations

from torch import Tensor


def check_inputs(
    means: Tensor,
    quats: Tensor | None,
    scales: Tensor | None,
    covars: Tensor | None,
    opacities: Tensor,
    colors: Tensor,
    viewmats: Tensor,
    Ks: Tensor,
    backgrounds: Tensor | None,
    sh_degree: int | None,
) -> None:
    """Raise ValueError, naming the argument, for the tensors that `gsplat.rasterization` rejects."""

    def require(condition: bool, message: str) -> None:
        if not condition:
            raise ValueError(message)

    require(means.dim() == 2 and means.shape[1] == 3, f"means must be [N, 3], got {tuple(means.shape)}")
    n = means.shape[0]
    if covars is None:
        require(quats is not None and tuple(quats.shape) == (n, 4), f"quats must be [{n}, 4]")
        require(scales is not None and tuple(scales.shape) == (n, 3), f"scales must be [{n}, 3]")
    else:
        require(tuple(covars.shape) == (n, 3, 3), f"covars must be [{n}, 3, 3]")
    require(tuple(opacities.shape) == (n,), f"opacities must be [{n}], got {tuple(opacities.shape)}")
    require(viewmats.dim() == 3 and viewmats.shape[1:] == (4, 4), "viewmats must be [C, 4, 4]")
    c = viewmats.shape[0]
    require(tuple(Ks.shape) == (c, 3, 3), f"Ks must be [{c}, 3, 3], got {tuple(Ks.shape)}")
    shape = tuple(colors.shape)
    if sh_degree is None:
        require(
            (len(shape) == 2 and shape[0] == n) or (len(shape) == 3 and shape[:2] == (c, n)),
            f"colors must be [{n}, D] or [{c}, {n}, D] without sh_degree, got {shape}",
        )
    else:
        require(
            (len(shape) == 3 and shape[0] == n and shape[2] == 3)
            or (len(shape) == 4 and shape[:2] == (c, n) and shape[3] == 3),
            f"colors must be [{n}, K, 3] or [{c}, {n}, K, 3] with sh_degree, got {shape}",
        )
        bases = (sh_degree + 1) ** 2
        require(bases <= shape[-2], f"sh_degree {sh_degree} needs {bases} SH coefficients, got {shape[-2]}")
    if backgrounds is not None:
        channels = 3 if sh_degree is not None else shape[-1]
        require(tuple(backgrounds.shape) == (c, channels), f"backgrounds must be [{c}, {channels}]")
