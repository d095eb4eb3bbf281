"""The mom4d model: seamless loops, time handling, the motion prior, densification and checkpoints."""

from __future__ import annotations

import pytest
import torch
from gsplat.strategy.ops import duplicate, split
from model_fixtures import input_camera, seed_metadata, tiny_model

from mom_nerfstudio.deformation import LoopingDeformationField, ViewContraction
from mom_nerfstudio.loop import LoopTerm


def training_model(**overrides):
    """A tiny model in training mode at step 0, as the trainer leaves it before an iteration."""
    model = tiny_model(**overrides)
    model.train()
    model.step = 0
    model.optimizers = {}
    return model


def render(model, time):
    return model.get_outputs_for_camera(input_camera(time))["rgb"]


def test_loop_is_seamless_and_periodic():
    model = tiny_model()
    start = render(model, 0.0)
    assert torch.allclose(render(model, 1.0), start)
    assert (render(model, 1.0 - 1e-6) - start).abs().max() < 1e-3
    assert torch.allclose(render(model, 1.3), render(model, 0.3), atol=1e-6)
    assert torch.allclose(render(model, -0.25), render(model, 0.75), atol=1e-6)


def test_only_moving_regions_change_over_time():
    model = tiny_model()
    start, middle = render(model, 0.0), render(model, 0.4)
    change = (start - middle).abs().amax(dim=-1)
    width = change.shape[1]
    # The left half of the grid moves (see the fixture); keep away from the border it shares with the right half.
    assert change[:, : width // 2 - 3].max() > 0.03
    assert change[:, width // 2 + 3 :].max() < 1e-4


def test_camera_without_time_renders_t0_with_a_warning(capsys):
    model = tiny_model()
    assert torch.allclose(model.get_outputs_for_camera(input_camera(None))["rgb"], render(model, 0.0))
    assert "no time" in capsys.readouterr().out


@pytest.mark.parametrize("time", [float("nan"), float("inf")])
def test_camera_with_a_time_that_is_not_a_number_renders_t0_with_a_warning(capsys, time):
    model = tiny_model()
    assert torch.allclose(model.get_outputs_for_camera(input_camera(time))["rgb"], render(model, 0.0))
    assert "not a number" in capsys.readouterr().out


def test_residual_deformation_is_continuous_where_the_loop_closes_and_starts_at_zero():
    points = torch.rand(50, 3) * 2 - 1 + torch.tensor([0.0, 4.0, 0.0])  # ahead of a camera at the origin (+y)
    camera_to_world = torch.tensor([[1.0, 0, 0, 0], [0, 0, -1.0, 0], [0, 1.0, 0, 0], [0, 0, 0, 1.0]])
    field = LoopingDeformationField(ViewContraction(camera_to_world, points), 8, 8, 4, 8)
    assert torch.count_nonzero(field(points, [0.3])[0].means) == 0  # zero-initialised heads
    for head in (field.position_head, field.rotation_head, field.scale_head):
        torch.nn.init.normal_(head.weight)
    with torch.no_grad():
        for plane in field.encoding.plane_coefs:
            plane.normal_()
    start, end, middle = (residual.means for residual in field(points, [0.0, -1e-7, 0.5]))
    assert torch.allclose(end, start, atol=1e-4)  # the forward copy at t = 0, the backward copy as t -> 1
    assert not torch.allclose(middle, start, atol=1e-3)


def test_view_contraction_spans_the_points_in_image_coordinates_and_disparity():
    camera_to_world = torch.tensor([[1.0, 0, 0, 0], [0, 0, -1.0, 0], [0, 1.0, 0, 0], [0, 0, 0, 1.0]])
    near = torch.tensor([[0.0, 1.0, -0.2], [0.5, 2.0, -0.2]])
    sky = torch.tensor([[10.0, 50.0, 5.0], [-10.0, 50.0, 5.0]])
    contraction = ViewContraction(camera_to_world, torch.cat([near, sky]), margin=0.0)
    coordinates = contraction(torch.cat([near, sky]))
    assert coordinates.min() >= -1.0 - 1e-6 and coordinates.max() <= 1.0 + 1e-6
    # Both sky points lie at one depth: one disparity; the nearest point has the largest disparity.
    assert torch.isclose(coordinates[2, 2], coordinates[3, 2]) and coordinates[2, 2] == -1.0
    assert coordinates[0, 2] == 1.0


def test_residual_deformation_spares_static_gaussians():
    model = training_model()
    model.step = model.config.static_steps  # dynamic stage: the residual is active
    with torch.no_grad():
        for head in (model.deformation.position_head,):
            torch.nn.init.normal_(head.weight, std=0.1)
            torch.nn.init.normal_(head.bias, std=0.1)
    moved = model.gaussians_at([LoopTerm(weight=1.0, frames=0.0, time_coordinate=0.3)])[0]["means"]
    static = model.motion_weights[:, 0] == 0
    assert torch.equal(moved[static], model.means[static])
    assert not torch.allclose(moved[~static], model.means[~static])


def _optimizers(params):
    return {name: torch.optim.Adam([param], lr=1e-3) for name, param in params.items()}


@pytest.mark.parametrize("operation", ["duplicate", "split"])
def test_densified_children_inherit_path_and_motion_weight(operation):
    model = tiny_model()
    params = model.gauss_params
    parents = torch.zeros(params["means"].shape[0], dtype=torch.bool)
    parents[[0, 5, params["means"].shape[0] - 1]] = True  # two moving (left column), one static (right)
    parent_rows = params["path_rows"][parents].detach().clone()
    parent_weight = params["motion_weights"][parents].detach().clone()
    state = {"grad2d": torch.zeros(parents.shape[0]), "count": torch.zeros(parents.shape[0])}
    count_before = parents.shape[0]
    if operation == "duplicate":
        duplicate(params, _optimizers(params), state, parents)
        children = slice(count_before, None)
        children_rows, children_weight = params["path_rows"][children], params["motion_weights"][children]
    else:
        split(params, _optimizers(params), state, parents)
        # split removes the parents and appends two children for each.
        children_rows = params["path_rows"][-2 * int(parents.sum()) :]
        children_weight = params["motion_weights"][-2 * int(parents.sum()) :]
        parent_rows, parent_weight = parent_rows.repeat(2, 1), parent_weight.repeat(2, 1)
    assert torch.equal(children_rows, parent_rows)
    assert torch.equal(children_weight, parent_weight)
    assert int((parent_rows >= 0).sum()) == 2 * (2 if operation == "split" else 1)  # moving parents are covered


def test_confidence_becomes_loss_weights():
    model = tiny_model(inpainted_weight=0.25)
    confidence = torch.tensor([[[255], [128], [0]]], dtype=torch.uint8)
    weights = model.pixel_weights({"confidence": confidence})
    assert torch.equal(weights.reshape(-1), torch.tensor([1.0, 0.25, 0.0]))


def test_holes_do_not_supervise():
    model = training_model()
    outputs = model.get_outputs(input_camera(0.0))
    height, width = outputs["rgb"].shape[:2]
    image = (outputs["rgb"].detach() * 255).to(torch.uint8)
    confidence = torch.full((height, width, 1), 255, dtype=torch.uint8)
    confidence[:, : width // 2] = 0
    garbage = image.clone()
    garbage[:, : width // 2] = 0  # black holes must cost nothing
    clean = model.get_loss_dict(outputs, {"image": image, "confidence": confidence})["main_loss"]
    holes = model.get_loss_dict(outputs, {"image": garbage, "confidence": confidence})["main_loss"]
    assert torch.allclose(clean, holes, atol=1e-3)


def test_checkpoint_of_an_older_model_gives_a_clear_error():
    model = tiny_model()
    state = {key: value for key, value in model.state_dict().items() if "path_rows" not in key}
    with pytest.raises(RuntimeError, match="path_rows.*Train the scene again"):
        tiny_model().load_state_dict(state)


def test_checkpoint_round_trip_resizes_gaussians():
    trained = tiny_model()
    with torch.no_grad():
        keep = torch.arange(0, trained.num_points, 2)
        for name in list(trained.gauss_params.keys()):
            trained.gauss_params[name] = torch.nn.Parameter(trained.gauss_params[name][keep])
    restored = tiny_model()
    restored.load_state_dict(trained.state_dict())
    assert restored.num_points == trained.num_points
    assert torch.equal(restored.path_rows, trained.path_rows)


def test_seeds_without_motion_metadata_are_explained():
    metadata = seed_metadata()
    del metadata["path_offsets"]
    with pytest.raises(ValueError, match="mom4d-data"):
        tiny_model(metadata)


def test_static_stage_renders_t0_during_training():
    model = training_model()
    still = model.get_outputs(input_camera(0.5))["rgb"]
    model.eval()
    assert torch.allclose(still, render(model, 0.0), atol=1e-6)


def test_rendering_keeps_the_spatial_features_until_a_parameter_changes(monkeypatch):
    model = training_model()
    model.step = model.config.static_steps
    model.eval()
    with torch.no_grad():
        torch.nn.init.normal_(model.deformation.position_head.weight, std=0.1)
    sampled = []
    spatial_features = model.deformation.encoding.spatial_features
    monkeypatch.setattr(
        model.deformation.encoding,
        "spatial_features",
        lambda positions: sampled.append(1) or spatial_features(positions),
    )
    first = render(model, 0.3)
    assert torch.allclose(render(model, 0.3), first) and len(sampled) == 1  # two renders, one sampling
    with torch.no_grad():
        model.deformation.encoding.plane_coefs[0].mul_(1.5)  # as an optimiser step would
    changed = render(model, 0.3)
    assert len(sampled) == 2 and not torch.allclose(changed, first)


def _dynamic_model_with_a_residual():
    model = training_model()
    model.step = model.config.static_steps
    with torch.no_grad():
        for head in (model.deformation.position_head, model.deformation.rotation_head, model.deformation.scale_head):
            torch.nn.init.normal_(head.weight, std=0.1)
            torch.nn.init.normal_(head.bias, std=0.01)
        for plane in model.deformation.encoding.plane_coefs:  # planes that vary along time as well
            plane.add_(0.2 * torch.randn_like(plane))
    return model


def test_display_renders_the_copies_together_as_training_renders_each():
    model = _dynamic_model_with_a_residual()
    model.eval()
    view = model._view(input_camera(0.3))
    with torch.no_grad():
        copies = model.gaussians_at([LoopTerm(0.7, 12.0, 0.3), LoopTerm(0.3, -28.0, -0.7)])
        together = model._rasterize_together(copies, view, None)
        alone = [model._rasterize(gaussians, view) for gaussians in copies]
    assert not torch.allclose(alone[0].colour, alone[1].colour, atol=1e-3)  # the copies differ
    for joint, single in zip(together, alone):
        assert torch.allclose(joint.colour, single.colour, atol=1e-6)
        assert torch.allclose(joint.alpha, single.alpha, atol=1e-6)
        assert torch.allclose(joint.depth, single.depth, atol=1e-5)


def test_residual_decoded_in_one_product_is_each_head_applied_alone():
    model = _dynamic_model_with_a_residual()
    field = model.deformation
    features = torch.randn(50, model.config.grid_components)
    decoded = field._decode(features)
    hidden = field.trunk(features)
    assert torch.allclose(decoded.means, field.position_head(hidden), atol=1e-6)
    assert torch.allclose(decoded.quats, field.rotation_head(hidden), atol=1e-6)
    assert torch.allclose(decoded.log_scales, field.scale_head(hidden), atol=1e-6)


def test_residual_from_kept_rest_samples_is_the_residual_computed_afresh():
    model = _dynamic_model_with_a_residual()
    field = model.deformation
    means = model.means[model.motion_weights[:, 0] > 0].detach()
    with torch.no_grad():
        field(means, [0.3, -0.7], cache_key="rest")  # fills the cache
        kept = field(means, [0.45, -0.55], cache_key="rest")
        afresh = field(means, [0.45, -0.55])
    for cached, computed in zip(kept, afresh):
        assert torch.allclose(cached.means, computed.means, atol=1e-6)
        assert torch.allclose(cached.quats, computed.quats, atol=1e-6)
    assert not torch.allclose(kept[0].means, kept[1].means)  # the two times differ


def test_the_viewer_crop_box_renders_only_the_gaussians_inside_it():
    from nerfstudio.data.scene_box import OrientedBox

    model = _dynamic_model_with_a_residual()
    model.eval()
    camera = input_camera(0.3)
    whole = model.get_outputs_for_camera(camera)
    means = model.means.detach()
    low, high = means.min(dim=0).values, means.max(dim=0).values
    centre = (low + high) / 2

    def cropped(size: torch.Tensor) -> dict:
        return model.get_outputs_for_camera(camera, obb_box=OrientedBox(R=torch.eye(3), T=centre, S=size))

    around_everything = cropped(torch.full((3,), 1e6))
    assert torch.allclose(around_everything["rgb"], whole["rgb"], atol=1e-6)
    assert float(cropped(torch.full((3,), 1e-6))["accumulation"].max()) == 0.0
    # A box around the half of the scene on the low side of x.
    model.crop_box = None
    size = torch.cat([high[:1] - low[:1], 2 * (high[1:] - low[1:]) + 1.0])
    half = OrientedBox(R=torch.eye(3), T=torch.cat([low[:1], centre[1:]]), S=size)
    part = model.get_outputs_for_camera(camera, obb_box=half)["accumulation"]
    assert 0.0 < float(part.mean()) < float(whole["accumulation"].mean()) - 0.01
