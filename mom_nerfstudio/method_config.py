"""The `mom4d` and `mom4d-tiny` methods, registered with nerfstudio through the `nerfstudio.method_configs` entry point."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import tyro
from nerfstudio.configs.base_config import ViewerConfig
from nerfstudio.engine.optimizers import AdamOptimizerConfig
from nerfstudio.engine.schedulers import ExponentialDecaySchedulerConfig
from nerfstudio.engine.trainer import TrainerConfig
from nerfstudio.plugins.types import MethodSpecification

from dataparsers.dataset_format import RUN_DATASET, TRANSFORMS_FILE
from dataparsers.mom4d_dataparser import Mom4dDataParserConfig
from mom_nerfstudio.checkpoints import register_checkpoint_globals
from mom_nerfstudio.command_line import report_input_errors
from mom_nerfstudio.data import Mom4dDataManagerConfig
from mom_nerfstudio.model import Mom4dModelConfig
from mom_nerfstudio.pipeline import Mom4dPipelineConfig
from mom_nerfstudio.run_dataset import link_dataset
from mom_nerfstudio.synthesis.image_io import check_photo_path
from mom_nerfstudio.synthesis.runner import synthesize

register_checkpoint_globals()


@dataclass
class FusedAdamOptimizerConfig(AdamOptimizerConfig):
    """Adam with its fused kernel: one launch per step for a parameter group instead of one per operation."""

    fused: bool = True
    """Use PyTorch's fused Adam implementation."""


def _optimizers(max_steps: int) -> dict:
    """Per-group optimizers: splatfacto's for the Gaussians, 4DGaussians' for the deformation field."""

    def adam(lr: float, lr_final: float | None = None) -> dict:
        scheduler = (
            None if lr_final is None else ExponentialDecaySchedulerConfig(lr_final=lr_final, max_steps=max_steps)
        )
        return {"optimizer": FusedAdamOptimizerConfig(lr=lr, eps=1e-15), "scheduler": scheduler}

    return {
        "means": adam(1.6e-4, 1.6e-6),
        "features_dc": adam(0.0025),
        "features_rest": adam(0.0025 / 20),
        "opacities": adam(0.05),
        "scales": adam(0.005),
        "quats": adam(0.001),
        # The motion prior (the paths from the synthesis) stays fixed; the residual deformation learns corrections.
        "path_rows": adam(0.0),
        "motion_weights": adam(0.0),
        "deformation_grid": adam(1.6e-3, 1.6e-5),
        "deformation_mlp": adam(1.6e-4, 1.6e-6),
    }


@dataclass
class Mom4dTrainerConfig(TrainerConfig):
    """nerfstudio's trainer config, which checks the photo while the command line is parsed and gives each run its own
    dataset when it is set up.

    The photo lives in one field, the dataparser's `data`: `__post_init__` runs as `ns-train mom4d --data photo.jpg`
    is parsed, moves nerfstudio's `--data` (and `--pipeline.datamanager.data`) there, and reports a wrong path in one
    line before nerfstudio prints the config and creates the run folder. `save_config` records absolute paths and the
    run's own dataset folder (`dataset/` in the run folder); `setup`, before training, fills that folder
    (`prepare_dataset`: the synthesis runs there when the cache lacks the dataset) and then saves config.yml.
    `ns-viewer`, `ns-render`, `ns-export` and the mom4d commands then read the run's own dataset, from any folder, even
    once the photo's cache is gone.
    """

    max_num_iterations: tyro.conf.Suppress[int] = 4000
    """Set by the model's two stages (--pipeline.model.static-steps and --pipeline.model.dynamic-steps)."""

    def __post_init__(self) -> None:
        datamanager = self.pipeline.datamanager
        given = self.data or datamanager.data
        if given is not None:
            check_photo_path(Path(given), name="--data")
            datamanager.dataparser.data = Path(given)
            self.data = datamanager.data = None
        self.follow_stages()

    @property
    def photo(self) -> Path:
        """The photo the run is made from."""
        return Path(self.pipeline.datamanager.dataparser.data)

    def follow_stages(self) -> None:
        """Make the iteration count and the learning-rate schedules span the model's two stages, which own them."""
        model = self.pipeline.model
        total = model.static_steps + model.dynamic_steps
        self.max_num_iterations = total
        self.steps_per_eval_all_images = total + 1
        for optimizer in self.optimizers.values():
            if optimizer.get("scheduler") is not None:
                optimizer["scheduler"].max_steps = total

    def setup(self, **kwargs):  # type: ignore[override]
        """The trainer, after `follow_stages` (a config changed after parsing still trains both stages in full) and
        `prepare_dataset`; from here on a bad input ends `ns-train` with one line, as in the mom4d commands."""
        self.follow_stages()
        report_input_errors("mom4d")
        self.prepare_dataset()
        return super().setup(**kwargs)

    def save_config(self) -> None:
        """Save config.yml with absolute paths and the run's own dataset folder; while that folder is still to be
        made, config.yml is saved by `prepare_dataset` once it is, so that a photo that cannot be synthesised leaves
        no run folder behind."""
        own = self._claim_run_dataset()
        if own is None or (own / TRANSFORMS_FILE).is_file():
            super().save_config()

    def prepare_dataset(self) -> None:
        """Give the run its own dataset, before training: the photo's dataset from the synthesis cache, synthesised
        first when the cache lacks it, linked into the run folder, then config.yml that names it. A bad input raises
        Mom4dInputError, which the command line reports in one line. A run whose dataparser names another dataset
        reads that one as it is."""
        own = self._claim_run_dataset()
        if own is None or (own / TRANSFORMS_FILE).is_file():
            return
        dataparser = self.pipeline.datamanager.dataparser
        link_dataset(synthesize(self.photo, dataparser).folder, own)
        super().save_config()

    def _claim_run_dataset(self) -> Path | None:
        """Resolve the run's paths and, unless the dataparser names a dataset already, name the run's own; returns
        the run's own dataset folder, or None when the dataparser reads another (or is not mom4d-data)."""
        self.output_dir = Path(self.output_dir).resolve()
        dataparser = self.pipeline.datamanager.dataparser
        if not isinstance(dataparser, Mom4dDataParserConfig):
            return None
        own = self.get_base_dir() / RUN_DATASET
        if dataparser.dataset is None:
            dataparser.data = self.photo.resolve()
            dataparser.dataset = own
        return own if Path(dataparser.dataset) == own else None

    def set_experiment_name(self) -> None:
        """Name the experiment after the photo (`outputs/forest_stream/mom4d/...`), not after the photo's folder."""
        if self.experiment_name is None and self.photo.is_file():
            self.experiment_name = self.photo.stem
        super().set_experiment_name()


def mom4d_trainer_config(
    method_name: str, dataparser: Mom4dDataParserConfig, model: Mom4dModelConfig, vis: str
) -> Mom4dTrainerConfig:
    """A trainer config of the mom4d method; its schedule follows the model's stages."""
    total = model.static_steps + model.dynamic_steps
    return Mom4dTrainerConfig(
        method_name=method_name,
        steps_per_eval_image=500,
        steps_per_eval_batch=0,
        steps_per_save=2000,
        mixed_precision=False,
        pipeline=Mom4dPipelineConfig(
            datamanager=Mom4dDataManagerConfig(dataparser=dataparser, cache_images_type="uint8"),
            model=model,
        ),
        optimizers=_optimizers(total),
        viewer=ViewerConfig(num_rays_per_chunk=1 << 15),
        vis=vis,
    )


mom4d_method = MethodSpecification(
    config=mom4d_trainer_config(
        "mom4d",
        dataparser=Mom4dDataParserConfig(),
        model=Mom4dModelConfig(
            static_steps=500,
            dynamic_steps=3500,
            sh_degree=1,
            num_downscales=1,
            resolution_schedule=500,
            warmup_length=500,
            stop_split_at=3000,
        ),
        vis="viewer",
    ),
    description="Looping 4D Gaussians from one landscape photo (3D-MOM motion prior + residual deformation; GPU).",
)

mom4d_tiny_method = MethodSpecification(
    config=mom4d_trainer_config(
        "mom4d-tiny",
        dataparser=Mom4dDataParserConfig(max_resolution=128, num_frames=12, animated_views="input"),
        model=Mom4dModelConfig(
            static_steps=100,
            dynamic_steps=200,
            sh_degree=0,
            num_downscales=0,
            warmup_length=100,
            refine_every=50,
            stop_split_at=250,
            grid_spatial_resolution=16,
            grid_time_resolution=12,
            grid_components=8,
            deformation_width=16,
        ),
        vis="tensorboard",
    ),
    description="mom4d at 128 px with a few hundred iterations: a CPU-sized run for tests and first tries.",
)
