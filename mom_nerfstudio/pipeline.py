"""The pipeline: nerfstudio's vanilla pipeline, telling the datamanager when the model's static stage ends."""

from __future__ import annotations

from dataclasses import dataclass, field

from nerfstudio.pipelines.base_pipeline import VanillaPipeline, VanillaPipelineConfig

from mom_nerfstudio.data import Mom4dDataManager


@dataclass
class Mom4dPipelineConfig(VanillaPipelineConfig):
    """Vanilla pipeline whose datamanager follows the model's two training stages."""

    _target: type = field(default_factory=lambda: Mom4dPipeline)


class Mom4dPipeline(VanillaPipeline):
    """Shares the model's stage schedule with the datamanager."""

    def __init__(self, config: Mom4dPipelineConfig, *args, **kwargs) -> None:
        super().__init__(config, *args, **kwargs)
        if isinstance(self.datamanager, Mom4dDataManager):
            self.datamanager.follow_stages(self.model.config.static_steps)
