"""Finding and loading the optional learned models: by hub id or local folder, once per process.

A model is named by a Hugging Face hub id (`Intel/zoedepth-nyu-kitti`) or by a folder holding a model saved with
`save_pretrained` (a snapshot folder of the hub cache is one). A hub id is looked up in the local hub cache first
and downloaded only when it is missing there and the hub is not switched off (`HF_HUB_OFFLINE=1`).

`check_model` finds a model and checks that it is of the kind the option needs, without loading any weights, so a
run can refuse a missing model before it spends work. `load_model` loads each model once per process and device:
on a GPU in half precision, on the CPU in single precision. Every way this can fail (no library, no weights, no
network, a folder of the wrong model, a GPU out of memory) becomes a `Mom4dInputError` that names the model, where
it was looked for and what to do. A model loaded from a weights file by its own module (`cached_model`,
`file_fingerprint`) shares the same once-per-process cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

import torch
from packaging.version import Version

from mom_nerfstudio.errors import Mom4dInputError
from mom_nerfstudio.log import logger

Library = Literal["transformers", "diffusers"]
"""The library a model loads through; it decides the file that describes the model."""

CONFIG_FILES: dict[Library, str] = {"transformers": "config.json", "diffusers": "model_index.json"}
"""The file at the root of a saved model that names its type (`model_type`, or the pipeline's `_class_name`)."""

REQUIRED_PACKAGES: dict[Library, tuple[str, ...]] = {
    "transformers": ("transformers",),
    "diffusers": ("diffusers", "transformers"),  # the pipelines' text encoders and tokenizers are transformers'
}
INSTALL_HINT = "pip install 'mom4d[depth]' (which brings transformers; diffusers comes with mom4d)"

Model = TypeVar("Model")


class DescribedModel(Protocol):
    """What messages about a model need: a `ModelSpec`, or the spec of a model loaded from a file."""

    @property
    def reference(self) -> str:
        """Hub id, folder or file, as the user gave it."""
        ...

    @property
    def description(self) -> str:
        """What the model is: 'ZoeDepth depth model'."""
        ...

    @property
    def lighter(self) -> str:
        """What to try when the GPU runs out of memory."""
        ...


@dataclass(frozen=True)
class ModelSpec:
    """A learned model that an option asks for, and what kind of model it must be."""

    reference: str
    """Hub id or folder, as the user gave it."""
    library: Library
    kinds: tuple[str, ...]
    """Accepted transformers `model_type`s, or diffusers pipeline class names."""
    description: str
    """What the model is, for messages: 'ZoeDepth depth model'."""
    option: str
    """The option that names the model: '--depth-model'."""
    example: str
    """A hub id of a model of the right kind."""
    alternative: str
    """What needs no weights: '--depth prior'."""
    lighter: str
    """What to try when the GPU runs out of memory."""
    gpu_dtype: torch.dtype = torch.float16
    """The half precision the model runs in on a GPU: float16, or bfloat16 where float16's range is too small."""

    @property
    def is_folder(self) -> bool:
        """Whether the reference names a local folder rather than a hub id."""
        return is_folder_reference(self.reference)

    @property
    def folder(self) -> Path:
        """The reference as a path (meaningful when `is_folder`)."""
        return Path(self.reference).expanduser()

    @property
    def config_file(self) -> str:
        """The file that names the model's type."""
        return CONFIG_FILES[self.library]


@dataclass(frozen=True)
class ModelSource:
    """What a library's `from_pretrained` needs to load one model onto one device."""

    path_or_id: str
    device: torch.device
    dtype: torch.dtype
    local_files_only: bool
    """Set when the hub is switched off: the library must not try the network."""


def is_folder_reference(reference: str) -> bool:
    """A reference is a folder when it exists as one or is written as a path (absolute, ./, ../, ~); else a hub id."""
    path = Path(reference).expanduser()
    return path.is_dir() or path.is_absolute() or reference.startswith((".", "~"))


def hub_offline() -> bool:
    """Whether the hub is switched off: `HF_HUB_OFFLINE` as huggingface_hub read it at import, or as it is now."""
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE) or os.environ.get("HF_HUB_OFFLINE", "").upper() in {"1", "ON", "YES", "TRUE"}


def hub_cache_folder() -> Path:
    """The local hub cache that hub ids are looked up in."""
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def check_model(spec: ModelSpec) -> dict[str, Any]:
    """Find the model of `spec` and check its kind, without loading weights; returns its config file's content.

    Raises Mom4dInputError when its library is not installed, a folder is missing or holds no model or a model
    of another kind, or a hub id is neither in the local hub cache nor downloadable.
    """
    for package in REQUIRED_PACKAGES[spec.library]:
        if importlib.util.find_spec(package) is None:
            raise Mom4dInputError(
                f"The {spec.description} needs the Python package {package!r}, which is not installed. "
                f"Install it with: {INSTALL_HINT}; or use {spec.alternative}."
            )
    config = _folder_config(spec) if spec.is_folder else _hub_config(spec)
    found = config.get("model_type") if spec.library == "transformers" else config.get("_class_name")
    if found not in spec.kinds:
        raise Mom4dInputError(
            f"The model {spec.reference} ({spec.option}) is a {found or 'model of unknown type'}, not a "
            f"{spec.description} ({' or '.join(spec.kinds)}). Pass a {spec.description} such as {spec.example}."
        )
    return config


def _folder_config(spec: ModelSpec) -> dict[str, Any]:
    folder = spec.folder
    if not folder.is_dir():
        raise Mom4dInputError(
            f"The model folder {folder} ({spec.option}) does not exist. Pass the folder of a {spec.description} "
            f"saved with save_pretrained, or a hub id such as {spec.example}; or use {spec.alternative}."
        )
    config_path = folder / spec.config_file
    if not config_path.is_file():
        raise Mom4dInputError(
            f"The folder {folder} ({spec.option}) holds no {spec.config_file}, so it is not a {spec.library} model "
            f"saved with save_pretrained. Pass the folder of a {spec.description} such as a download of "
            f"{spec.example}; or use {spec.alternative}."
        )
    return _read_config(config_path, spec)


def _hub_config(spec: ModelSpec) -> dict[str, Any]:
    from huggingface_hub import hf_hub_download, try_to_load_from_cache
    from huggingface_hub.errors import HFValidationError

    try:
        cached = try_to_load_from_cache(spec.reference, spec.config_file)
    except HFValidationError as error:
        raise Mom4dInputError(
            f"{spec.reference!r} ({spec.option}) is neither an existing folder nor a valid hub id ({error}). "
            f"Pass a folder or a hub id such as {spec.example}."
        ) from error
    if isinstance(cached, str):
        return _read_config(Path(cached), spec)
    if hub_offline():
        raise Mom4dInputError(_not_available_message(spec, "the hub is switched off (HF_HUB_OFFLINE=1)"))
    try:
        downloaded = hf_hub_download(spec.reference, spec.config_file)
    except Exception as error:  # no network, no such repository, a gated one: all mean "not available here"
        raise Mom4dInputError(_not_available_message(spec, f"downloading it failed ({_first_line(error)})")) from error
    return _read_config(Path(downloaded), spec)


def _not_available_message(spec: ModelSpec, reason: str) -> str:
    return (
        f"The {spec.description} {spec.reference} ({spec.option}) is not available: it is not in the Hugging Face "
        f"cache {hub_cache_folder()} and {reason}. On a machine with internet, fetch it with "
        f"`hf download {spec.reference}` (older huggingface_hub: `huggingface-cli download {spec.reference}`), then "
        f"copy that cache here (or point HF_HUB_CACHE at it), or pass the downloaded folder with {spec.option}; "
        f"or use {spec.alternative}, which needs no weights."
    )


def _read_config(path: Path, spec: ModelSpec) -> dict[str, Any]:
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise Mom4dInputError(
            f"The {spec.config_file} of {spec.reference} ({path}) is unreadable ({error}); download the model again."
        ) from error
    if not isinstance(config, dict):
        raise Mom4dInputError(f"The {spec.config_file} of {spec.reference} ({path}) is not a JSON object.")
    return config


def model_fingerprint(spec: ModelSpec) -> str:
    """What identifies the model's weights in cache keys: the hub id, or the folder with its files' sizes and times.

    A folder's files are not read (weights are gigabytes), so replacing them changes the fingerprint through
    their size or modification time.
    """
    if not spec.is_folder or not spec.folder.is_dir():
        return f"hub:{spec.reference}"
    folder = spec.folder.resolve()
    return f"folder:{folder}:{_stamps_digest(folder, sorted(folder.rglob('*')))}"


def file_fingerprint(path: Path) -> str:
    """What identifies a weights file in cache keys: its resolved path, size and modification time (not its bytes)."""
    path = path.expanduser().resolve()
    return f"file:{path}:{_stamps_digest(path.parent, [path])}"


def _stamps_digest(root: Path, paths: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        if path.is_file():
            stat = path.stat()
            digest.update(f"{path.relative_to(root)}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()[:16]


def model_dtype(device: torch.device, gpu_dtype: torch.dtype = torch.float16) -> torch.dtype:
    """`gpu_dtype` on a GPU (half the memory of single precision, and tensor cores), single precision on the CPU.

    A GPU without bfloat16 runs a bfloat16 model in single precision.
    """
    if device.type != "cuda":
        return torch.float32
    if gpu_dtype == torch.bfloat16 and not torch.cuda.is_bf16_supported():
        return torch.float32
    return gpu_dtype


_LOADED: dict[tuple[str, str, str], Any] = {}


def cached_model(key: tuple[str, str, str], load: Callable[[], Model]) -> Model:
    """The model kept under `key` (kind, reference, device), loaded by `load` at the first call.

    Every learned model lives in this one cache, so that `release_models` frees them all.
    """
    if key not in _LOADED:
        _LOADED[key] = load()
    return _LOADED[key]


def load_model(spec: ModelSpec, device: torch.device, loader: Callable[[ModelSource], Model]) -> Model:
    """The model of `spec` on `device`, loaded by `loader` at the first call and reused by later ones.

    `loader` gets the folder or hub id, the device, the dtype (`model_dtype`) and whether to stay off the network,
    and returns the model on that device.
    """
    return cached_model((spec.library, spec.reference, str(device)), lambda: _load_checked(spec, device, loader))


def _load_checked(spec: ModelSpec, device: torch.device, loader: Callable[[ModelSource], Model]) -> Model:
    check_model(spec)
    path_or_id = str(spec.folder) if spec.is_folder else spec.reference
    where = f"the folder {path_or_id}" if spec.is_folder else f"the Hugging Face cache {hub_cache_folder()}"
    logger.info("Loading the %s %s onto %s.", spec.description, spec.reference, device)
    source = ModelSource(path_or_id, device, model_dtype(device, spec.gpu_dtype), local_files_only=hub_offline())
    try:
        with gpu_memory_guard(spec, "loading it"):
            return loader(source)
    except (OSError, ValueError, KeyError) as error:  # what transformers and diffusers raise for missing files
        raise Mom4dInputError(
            f"The {spec.description} {spec.reference} ({spec.option}) could not be loaded from {where}: "
            f"{_first_line(error)}. Its weights may be missing or incomplete: fetch them again with "
            f"`hf download {spec.reference}` on a machine with internet, or use {spec.alternative}."
        ) from error


@dataclass
class TransformersModel:
    """A transformers model on its device, in evaluation mode, with its image processor."""

    model: Any
    processor: Any


def transformers_loader(auto_class: str) -> Callable[[ModelSource], TransformersModel]:
    """A `load_model` loader of a transformers model through `auto_class` (e.g. 'AutoModelForDepthEstimation')
    and its image processor through `AutoImageProcessor`."""

    def load(source: ModelSource) -> TransformersModel:
        import transformers

        options = {"local_files_only": source.local_files_only}
        model = getattr(transformers, auto_class).from_pretrained(source.path_or_id, dtype=source.dtype, **options)
        processor = transformers.AutoImageProcessor.from_pretrained(source.path_or_id, **options)
        return TransformersModel(model.to(source.device).eval(), processor)

    return load


def diffusers_loading_options(source: ModelSource) -> dict[str, Any]:
    """Keyword arguments of a diffusers pipeline's `from_pretrained` for `source`."""
    # diffusers 0.42 renamed `torch_dtype` to `dtype` (and warns about the old name); older versions know only the old.
    dtype_keyword = "dtype" if Version(version("diffusers")) >= Version("0.42") else "torch_dtype"
    return {
        dtype_keyword: source.dtype,
        "local_files_only": source.local_files_only,
        # Low-memory loading needs accelerate; without it diffusers would warn at every load.
        "low_cpu_mem_usage": importlib.util.find_spec("accelerate") is not None,
    }


def release_models() -> None:
    """Forget every loaded model, so that its memory (on the GPU too) can be freed."""
    _LOADED.clear()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def loaded_model_count() -> int:
    """How many models are loaded now."""
    return len(_LOADED)


@contextlib.contextmanager
def gpu_memory_guard(spec: DescribedModel, task: str) -> Iterator[None]:
    """Turn the GPU running out of memory during `task` into a Mom4dInputError that says what to try instead."""
    try:
        yield
    except torch.OutOfMemoryError as error:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        raise Mom4dInputError(
            f"The GPU ran out of memory {task} with the {spec.description} {spec.reference} "
            f"({_first_line(error)}). Try {spec.lighter}, a lower --max-resolution, or --device cpu (much slower)."
        ) from error


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0].rstrip(".") if text else type(error).__name__
