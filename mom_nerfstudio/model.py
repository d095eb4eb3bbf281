"""The mom4d model: splatfacto's Gaussians plus a looping motion prior and a learned residual deformation.

Each Gaussian carries its seed's row in the dataset's path table (where the seed travels over the loop, the same
paths the synthesised videos follow) and the seed's motion-mask value, both in `gauss_params`, so densification
copies them to children and checkpoints keep them. A time t in [0, 1) is rendered as the loop's copies
(`mom_nerfstudio.loop`): each carries the moving Gaussians along their paths and, after the static stage, adds a
space-time residual (`deformation`) of position, rotation and scale at its own positions and time coordinate; the
copies' renders are blended as the dataset's videos were.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Optional, Union

import torch
from gsplat.strategy import DefaultStrategy
from nerfstudio.cameras.cameras import Cameras
from nerfstudio.models.splatfacto import (
    RGB2SH,
    SplatfactoModel,
    SplatfactoModelConfig,
    get_viewmat,
    num_sh_bases,
)
from nerfstudio.utils.colors import get_color
from nerfstudio.utils.rich_utils import CONSOLE
from nerfstudio.viewer.viewer_elements import ViewerButton
from pytorch_msssim import SSIM
from torch.nn import Parameter

from dataparsers.dataset_format import (
    INPAINTED_LEVEL,
    INPUT_CAMERA_TO_WORLD,
    OBSERVED_LEVEL,
    PathTable,
)
from mom_nerfstudio.deformation import LoopingDeformationField, ViewContraction
from mom_nerfstudio.loop import LoopTerm, blend_copies, loop_terms, wrap_time
from mom_nerfstudio.rendering.copies import View, rasterize_copies, rasterize_copy
from mom_nerfstudio.seeds import SeedCloud
from mom_nerfstudio.viewer_camera import OpeningViewControl, opening_view, pivot_depth

# Depth reported where a render is empty, so that the viewer composites its scene objects (the training cameras)
# in front of nothing rather than behind a depth of 0.
_EMPTY_DEPTH = 1e4
# Alpha under which a render's pixel is empty: its colour is not recovered from the premultiplied colour there.
_EMPTY_ALPHA = 1e-6


@dataclass
class Mom4dModelConfig(SplatfactoModelConfig):
    """Looping 4D Gaussians: splatfacto plus a 3D motion prior and a learned residual deformation."""

    _target: type = field(default_factory=lambda: Mom4dModel)
    static_steps: int = 500
    """Iterations of the static stage (the static views at t = 0, deformation off) before the dynamic stage."""
    dynamic_steps: int = 3500
    """Iterations of the dynamic stage (every frame of the looping videos); the run trains both stages in full."""
    use_motion_prior: bool = True
    """Carry the moving Gaussians along their paths (off: the residual deformation alone must explain the motion)."""
    use_residual_deformation: bool = True
    """Learn a space-time residual of position, rotation and scale on top of the motion prior."""
    residual_everywhere: bool = False
    """Let the residual deform every Gaussian, not only those the motion mask lets move."""
    grid_spatial_resolution: int = 64
    """Cells per spatial axis of the residual's feature planes."""
    grid_time_resolution: int = 50
    """Cells along time of the residual's feature planes (two loop periods)."""
    grid_components: int = 32
    """Features per plane of the residual."""
    deformation_width: int = 64
    """Hidden width of the residual's decoder."""
    plane_tv_weight: float = 1e-4
    """Weight of the spatial planes' total variation."""
    time_smoothness_weight: float = 1e-2
    """Weight of the time planes' second-difference smoothness."""
    time_l1_weight: float = 1e-4
    """Weight of the time planes' L1 distance to 1 (no deformation)."""
    inpainted_weight: float = 0.1
    """Loss weight of pixels the dataparser filled in (holes never supervise)."""
    max_seed_points: Optional[int] = None
    """Use at most this many seed points (evenly subsampled); None keeps them all."""
    seed_opacity: float = 0.5
    """Initial opacity of the seeded Gaussians."""
    use_lpips: bool = False
    """Report LPIPS in evaluations (needs torchvision's AlexNet weights and the LPIPS weights on disk)."""
    scene_scale: Optional[float] = None
    """Scale of the scene for densification thresholds; default: the median seed distance from the input camera."""


class Mom4dModel(SplatfactoModel):
    """Looping 4D Gaussians rendered at the time carried by each camera."""

    config: Mom4dModelConfig

    def populate_modules(self) -> None:
        metadata = self.kwargs.get("metadata") or {}
        all_seeds = SeedCloud.from_metadata(metadata)
        seeds = all_seeds.subsampled(self.config.max_seed_points)
        # The loop the dataset's videos were made with, rendered the same way.
        self.num_frames = int(metadata["num_frames"])
        self.loop_blend = metadata["loop_blend"]
        num_points = seeds.xyz.shape[0]
        dim_sh = num_sh_bases(self.config.sh_degree)
        colors = seeds.rgb.float() / 255.0
        features_dc = RGB2SH(colors) if self.config.sh_degree > 0 else torch.logit(colors, eps=1e-4)
        quats = torch.zeros(num_points, 4)
        quats[:, 0] = 1.0
        self.gauss_params = torch.nn.ParameterDict(
            {
                "means": Parameter(seeds.xyz.float()),
                "scales": Parameter(torch.log(seeds.footprint.float().clamp(min=1e-6))[:, None].repeat(1, 3)),
                "quats": Parameter(quats),
                "features_dc": Parameter(features_dc),
                "features_rest": Parameter(torch.zeros(num_points, dim_sh - 1, 3)),
                "opacities": Parameter(torch.logit(torch.full((num_points, 1), self.config.seed_opacity))),
                "path_rows": Parameter(seeds.path_rows.float()[:, None]),
                "motion_weights": Parameter(seeds.moving.float()[:, None]),
            }
        )
        self.camera_optimizer = self.config.camera_optimizer.setup(num_cameras=self.num_train_data, device="cpu")
        # Imported here, as splatfacto does: torchmetrics' image package takes seconds to import, which every
        # nerfstudio command would pay when it discovers the method.
        from torchmetrics.image import PeakSignalNoiseRatio

        self.psnr = PeakSignalNoiseRatio(data_range=1.0)
        self.ssim = SSIM(data_range=1.0, size_average=True, channel=3)
        self.lpips = self._build_lpips() if self.config.use_lpips else None
        self.step = 0
        self.crop_box = None
        # With a random training background, renders use the viewer's background colour.
        self.background_color = (
            torch.tensor([0.1490, 0.1647, 0.2157])
            if self.config.background_color == "random"
            else get_color(self.config.background_color)
        )
        if self.config.use_bilateral_grid:
            raise ValueError(
                "mom4d does not support the bilateral grid; leave --pipeline.model.use-bilateral-grid False."
            )
        self.strategy = DefaultStrategy(
            prune_opa=self.config.cull_alpha_thresh,
            grow_grad2d=self.config.densify_grad_thresh,
            grow_scale3d=self.config.densify_size_thresh,
            grow_scale2d=self.config.split_screen_size,
            prune_scale3d=self.config.cull_scale_thresh,
            prune_scale2d=self.config.cull_screen_size,
            refine_scale2d_stop_iter=self.config.stop_screen_size_at,
            refine_start_iter=self.config.warmup_length,
            refine_stop_iter=self.config.stop_split_at,
            reset_every=self.config.reset_alpha_every * self.config.refine_every,
            refine_every=self.config.refine_every,
            pause_refine_after_reset=self.num_train_data + self.config.refine_every,
            absgrad=self.config.use_absgrad,
            revised_opacity=False,
            verbose=False,
        )
        scene_scale = self.config.scene_scale or float(seeds.xyz.norm(dim=-1).median())
        self.strategy_state = self.strategy.initialize_state(scene_scale=scene_scale)
        input_camera = metadata.get("input_camera")
        camera_to_world = INPUT_CAMERA_TO_WORLD if input_camera is None else input_camera.camera_to_world
        self.register_buffer("path_times", seeds.paths.times.float())
        self.register_buffer("path_offsets", seeds.paths.offsets.float())
        self.deformation = LoopingDeformationField(
            contraction=ViewContraction(torch.as_tensor(camera_to_world, dtype=torch.float32), seeds.moving_points()),
            spatial_resolution=self.config.grid_spatial_resolution,
            time_resolution=self.config.grid_time_resolution,
            num_components=self.config.grid_components,
            hidden_width=self.config.deformation_width,
        )
        self._warned_about_time = False
        self._derived_cache: dict[str, tuple[tuple, Any]] = {}
        self.opening_view = None
        if input_camera is not None:
            pivot = pivot_depth(all_seeds.xyz.numpy(), input_camera)
            view = opening_view(input_camera.camera_to_world, input_camera.fov_degrees, pivot)
            self.opening_view = OpeningViewControl(view)
            self.view_from_photo = ViewerButton("View from the photo", cb_hook=lambda _: self.opening_view.place_all())

    @staticmethod
    def _build_lpips() -> torch.nn.Module:
        from torchmetrics.image.lpip import LearnedPerceptualImagePatchSimilarity

        return LearnedPerceptualImagePatchSimilarity(normalize=True)

    @property
    def path_rows(self) -> torch.Tensor:
        """[N] each Gaussian's row of the path table (-1: it never moves)."""
        return self.gauss_params["path_rows"][:, 0].round().long()

    @property
    def paths(self) -> PathTable:
        """Where the moving seeds travel over the loop."""
        return self._derived(
            "paths", (self.path_times, self.path_offsets), lambda: PathTable(self.path_times, self.path_offsets)
        )

    @property
    def motion_weights(self) -> torch.Tensor:
        """[N, 1] motion-mask value of each Gaussian (0: never moves)."""
        return self.gauss_params["motion_weights"]

    def load_state_dict(self, dict, **kwargs):  # type: ignore[override]
        """Load a checkpoint, resizing the Gaussians in place so that optimizers keep pointing at them."""
        missing = [name for name in self.gauss_params.keys() if f"gauss_params.{name}" not in dict]
        if missing:
            raise RuntimeError(
                "This checkpoint was not written by this version of mom4d: it lacks the Gaussian parameters "
                f"{', '.join(missing)}. Train the scene again with this version (ns-train mom4d ...)."
            )
        # As splatfacto does: a loaded scene renders with every SH degree.
        self.step = 30000
        count = dict["gauss_params.means"].shape[0]
        for param in self.gauss_params.values():
            # Replacing the Parameter objects (as splatfacto does) would leave a resumed run's optimizers
            # holding the old, wrongly sized tensors.
            param.data = torch.zeros((count, *param.shape[1:]), device=param.device, dtype=param.dtype)
        return torch.nn.Module.load_state_dict(self, dict, **kwargs)

    def get_gaussian_param_groups(self) -> dict[str, list[Parameter]]:
        return {name: [param] for name, param in self.gauss_params.items()}

    def get_param_groups(self) -> dict[str, list[Parameter]]:
        groups = super().get_param_groups()
        groups["deformation_grid"] = list(self.deformation.encoding.parameters())
        groups["deformation_mlp"] = [
            *self.deformation.trunk.parameters(),
            *self.deformation.position_head.parameters(),
            *self.deformation.rotation_head.parameters(),
            *self.deformation.scale_head.parameters(),
        ]
        return groups

    # ---- time ----

    def in_static_stage(self) -> bool:
        """Whether training is still in the static stage."""
        return self.training and self.step < self.config.static_steps

    def camera_time(self, camera: Cameras) -> float:
        """The loop time a camera asks for, wrapped into [0, 1); 0 with a warning when it carries none or not a number."""
        if camera.times is None:
            self._warn_about_time("the camera carries no time")
            return 0.0
        time = float(camera.times.reshape(-1)[0])
        if not math.isfinite(time):
            self._warn_about_time(
                f"the camera's time is {time}, not a number (check the render_time of the camera path)"
            )
            return 0.0
        return wrap_time(time)

    def _warn_about_time(self, reason: str) -> None:
        if not self._warned_about_time:
            CONSOLE.print(f"[yellow]mom4d: {reason}; rendering the scene at t = 0.")
            self._warned_about_time = True

    def gaussians_at(self, terms: list[LoopTerm]) -> list[dict[str, torch.Tensor]]:
        """Means, quats and log-scales of every Gaussian in each copy of the loop: carried `term.frames` frames along
        its path (when the prior is on) and deformed by the residual at the copy's time coordinate."""
        posed = [{"means": self.means, "quats": self.quats, "scales": self.scales} for _ in terms]
        if self.config.use_motion_prior:
            path_rows = self.gauss_params["path_rows"]
            travelling = self._derived("travelling", (path_rows,), lambda: torch.nonzero(path_rows[:, 0] >= 0)[:, 0])
            rows = self._derived("travelling rows", (path_rows,), lambda: self.path_rows[travelling])
            for gaussians, term in zip(posed, terms):
                if term.frames != 0.0:
                    offsets = self.paths.at(term.frames)[rows]
                    gaussians["means"] = gaussians["means"].index_add(0, travelling, offsets)
        if self.config.use_residual_deformation and not self.in_static_stage():
            weights = self.motion_weights
            if self.config.residual_everywhere:
                deforming = torch.arange(self.num_points, device=weights.device)
                weight = torch.ones_like(weights)
            else:
                deforming = self._derived("deforming", (weights,), lambda: torch.nonzero(weights[:, 0] > 0)[:, 0])
                weight = self._derived("deforming weights", (weights,), lambda: weights[deforming].detach())
            if deforming.numel() > 0:
                means = self.gauss_params["means"]
                cache_key = (means.data_ptr(), means._version, deforming.data_ptr())
                at_rest = self._derived("deforming means", (means, deforming), lambda: means[deforming].detach())
                residuals = self.deformation(at_rest, [term.time_coordinate for term in terms], cache_key=cache_key)
                for gaussians, residual in zip(posed, residuals):
                    gaussians["means"] = gaussians["means"].index_add(0, deforming, weight * residual.means)
                    gaussians["quats"] = gaussians["quats"].index_add(0, deforming, weight * residual.quats)
                    gaussians["scales"] = gaussians["scales"].index_add(0, deforming, weight * residual.log_scales)
        return posed

    def _derived(self, name: str, sources: tuple[torch.Tensor, ...], compute: Callable[[], Any]) -> Any:
        """`compute()`, kept while the tensors it derives from are unchanged (finding indices waits for the GPU, and
        a frame should not)."""
        key = tuple((tensor.data_ptr(), tensor._version, tensor.shape[0]) for tensor in sources)
        cached = self._derived_cache.get(name)
        if cached is None or cached[0] != key:
            with torch.no_grad():
                cached = (key, compute())
            self._derived_cache[name] = cached
        return cached[1]

    # ---- rendering ----

    def get_outputs(self, camera: Cameras) -> dict[str, Union[torch.Tensor, list]]:
        """The render of `camera` at the loop time it carries: the loop's copies rasterised and blended."""
        if not isinstance(camera, Cameras):
            return {}
        selected = self._cropped()
        if selected is not None and not bool(selected.any()):
            return self.get_empty_outputs(int(camera.width.item()), int(camera.height.item()), self.background_color)
        view = self._view(camera)
        t = 0.0 if self.in_static_stage() else self.camera_time(camera)
        terms = loop_terms(t, self.num_frames)
        copies = self.gaussians_at(terms)
        if self.training:
            renders = [self._rasterize(gaussians, view) for gaussians in copies]
            # Densification statistics follow the render that dominates the blend.
            self.info = renders[max(range(len(terms)), key=lambda index: terms[index].weight)].info
            self.strategy.step_pre_backward(
                self.gauss_params, self.optimizers, self.strategy_state, self.step, self.info
            )
        else:
            renders = self._rasterize_together(copies, view, selected)
        blended = blend_copies(
            [render.colour for render in renders],
            [render.alpha for render in renders],
            [term.weight for term in terms],
            self.loop_blend,
        )
        background = self._get_background_color()
        rgb = torch.clamp(blended.colour * blended.coverage + (1 - blended.coverage) * background, 0.0, 1.0)
        depth = None
        if view.with_depth:
            depth = _fill_empty_depth(
                sum(share * render.depth for share, render in zip(blended.shares, renders)), blended.coverage
            )
        if background.shape[0] == 3 and not self.training:
            background = background.expand(view.height, view.width, 3)
        return {
            "rgb": rgb.squeeze(0),
            "depth": depth,
            "accumulation": blended.coverage.squeeze(0),
            "background": background,
        }

    def _cropped(self) -> Optional[torch.Tensor]:
        """[N] bool, the Gaussians inside the viewer's crop box (None when it has none, or during training)."""
        if self.crop_box is None or self.training:
            return None
        return self.crop_box.within(self.means).squeeze()

    def _view(self, camera: Cameras) -> View:
        """What the rasteriser needs of `camera`, at the resolution of the training schedule."""
        camera_to_world = self.camera_optimizer.apply_to_camera(camera) if self.training else camera.camera_to_worlds
        if self.training:
            assert camera.shape[0] == 1, "Only one camera at a time"
        downscale = self._get_downscale_factor()
        camera.rescale_output_resolution(1 / downscale)
        view = View(
            viewmat=_viewmat(camera_to_world),
            camera_centre=camera_to_world.reshape(-1, 3, 4)[0, :, 3],
            intrinsics=camera.get_intrinsics_matrices().to(self.device),
            width=int(camera.width.item()),
            height=int(camera.height.item()),
            with_depth=self.config.output_depth_during_training or not self.training,
        )
        camera.rescale_output_resolution(downscale)
        self.last_size = (view.height, view.width)
        return view

    def _appearance(self) -> tuple[Optional[int], torch.Tensor, torch.Tensor]:
        """What every copy of the loop shares: the SH degree in use (None: plain colours), the colours or SH
        coefficients of every Gaussian, and their opacities in [0, 1]."""
        opacities = torch.sigmoid(self.opacities).squeeze(-1)
        if self.config.sh_degree > 0:
            sh_degree = min(self.step // self.config.sh_degree_interval, self.config.sh_degree)
            return sh_degree, torch.cat((self.features_dc[:, None, :], self.features_rest), dim=1), opacities
        return None, torch.sigmoid(self.features_dc), opacities

    def _rasterize(self, gaussians: dict[str, torch.Tensor], view: View) -> _CopyRender:
        """Rasterise one copy of the loop (posed Gaussians, the rest of their parameters as they are), keeping what
        densification needs."""
        sh_degree, colours, opacities = self._appearance()
        render, alpha, info = rasterize_copy(
            _activated(gaussians),
            opacities,
            colours,
            sh_degree,
            view,
            self.config.rasterize_mode,
            absgrad=self.strategy.absgrad,
        )
        return _copy_render(render, alpha, view.with_depth, info)

    def _rasterize_together(
        self, copies: list[dict[str, torch.Tensor]], view: View, selected: Optional[torch.Tensor]
    ) -> list[_CopyRender]:
        """Rasterise every copy of the loop in one pass (for display: no densification statistics)."""
        sh_degree, colours, opacities = self._appearance()
        posed = [_activated(gaussians) for gaussians in copies]
        if selected is not None:
            posed = [{name: values[selected] for name, values in gaussians.items()} for gaussians in posed]
            opacities, colours = opacities[selected], colours[selected]
        renders, alphas = rasterize_copies(posed, opacities, colours, sh_degree, view, self.config.rasterize_mode)
        return [_copy_render(render[None], alpha[None], view.with_depth, {}) for render, alpha in zip(renders, alphas)]

    # ---- losses and metrics ----

    def pixel_weights(self, batch: dict[str, torch.Tensor]) -> Optional[torch.Tensor]:
        """[H, W, 1] loss weight per pixel: 1 where seen, `inpainted_weight` where filled in, 0 in holes."""
        if "confidence" in batch:
            confidence = batch["confidence"].float()
            weights = torch.where(
                confidence >= OBSERVED_LEVEL,
                1.0,
                torch.where(confidence >= INPAINTED_LEVEL, self.config.inpainted_weight, 0.0),
            )
        elif "mask" in batch:
            weights = batch["mask"].float()
        else:
            return None
        return self._downscale_if_required(weights).to(self.device)

    def get_loss_dict(self, outputs, batch, metrics_dict=None) -> dict[str, torch.Tensor]:
        gt_img = self.composite_with_background(self.get_gt_img(batch["image"]), outputs["background"])
        pred_img = outputs["rgb"]
        weights = self.pixel_weights(batch)
        if weights is None:
            weights = torch.ones_like(pred_img[..., :1])
        l1 = ((gt_img - pred_img).abs() * weights).sum() / (weights.sum() * 3).clamp(min=1.0)
        # D-SSIM as splatfacto does with masks: on both images multiplied by the weights.
        ssim_loss = 1 - self.ssim(
            (gt_img * weights).permute(2, 0, 1)[None], (pred_img * weights).permute(2, 0, 1)[None]
        )
        loss_dict = {"main_loss": (1 - self.config.ssim_lambda) * l1 + self.config.ssim_lambda * ssim_loss}
        if self.config.use_scale_regularization and self.step % 10 == 0:
            scale_exp = torch.exp(self.scales)
            ratio = scale_exp.amax(dim=-1) / scale_exp.amin(dim=-1)
            loss_dict["scale_reg"] = (
                0.1 * (torch.clamp(ratio, min=self.config.max_gauss_ratio) - self.config.max_gauss_ratio).mean()
            )
        if self.training and self.config.use_residual_deformation and not self.in_static_stage():
            regularizers = self.deformation.regularizers()
            loss_dict["plane_tv"] = self.config.plane_tv_weight * regularizers["plane_tv"]
            loss_dict["time_smoothness"] = self.config.time_smoothness_weight * regularizers["time_smoothness"]
            loss_dict["time_l1"] = self.config.time_l1_weight * regularizers["time_l1"]
        if self.training:
            self.camera_optimizer.get_loss_dict(loss_dict)
        return loss_dict

    def get_image_metrics_and_images(
        self, outputs: dict[str, torch.Tensor], batch: dict[str, torch.Tensor]
    ) -> tuple[dict[str, float], dict[str, torch.Tensor]]:
        gt_rgb = self.composite_with_background(self.get_gt_img(batch["image"]), outputs["background"])
        predicted_rgb = outputs["rgb"]
        combined_rgb = torch.cat([gt_rgb, predicted_rgb], dim=1)
        gt = torch.moveaxis(gt_rgb, -1, 0)[None]
        predicted = torch.moveaxis(predicted_rgb, -1, 0)[None]
        metrics = {"psnr": float(self.psnr(gt, predicted).item()), "ssim": float(self.ssim(gt, predicted))}
        if self.lpips is not None:
            metrics["lpips"] = float(self.lpips(gt, predicted))
        return metrics, {"img": combined_rgb}


@dataclass(frozen=True)
class _CopyRender:
    """One copy of the loop, rasterised: colour (not premultiplied), alpha, expected depth, rasteriser statistics."""

    colour: torch.Tensor  # [1, H, W, 3]
    alpha: torch.Tensor  # [1, H, W, 1]
    depth: Optional[torch.Tensor]  # [1, H, W, 1]
    info: dict


def _activated(gaussians: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A posed copy's means, quats and scales as the rasteriser takes them (scales out of their log)."""
    return {"means": gaussians["means"], "quats": gaussians["quats"], "scales": torch.exp(gaussians["scales"])}


def _copy_render(render: torch.Tensor, alpha: torch.Tensor, with_depth: bool, info: dict) -> _CopyRender:
    """A copy's render [1, H, W, 3 (+1 depth)] and alpha [1, H, W, 1] as colour, alpha and depth."""
    colour = render[..., :3] / alpha.clamp(min=_EMPTY_ALPHA)
    return _CopyRender(colour=colour, alpha=alpha, depth=render[..., 3:4] if with_depth else None, info=info)


# splatfacto's world-to-camera conversion, run eagerly: splatfacto compiles it, which costs half a minute on a CPU.
_viewmat = torch.compiler.disable(get_viewmat)


def _fill_empty_depth(depth: torch.Tensor, coverage: torch.Tensor) -> torch.Tensor:
    """[H, W, 1] depth whose empty pixels take the farthest rendered depth (a bounded colour scale for depth videos),
    or, when nothing rendered, a depth behind any scene object the viewer composites with the render."""
    rendered = coverage > 0
    farthest = torch.where(rendered, depth, torch.zeros_like(depth)).detach().amax()
    fill = torch.where(rendered.any(), farthest, torch.full_like(farthest, _EMPTY_DEPTH))
    return torch.where(rendered, depth, fill).squeeze(0)
