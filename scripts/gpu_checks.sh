#!/usr/bin/env bash
# GPU checks and benchmarks on a machine with a CUDA GPU and no network.
#
#   bash scripts/gpu_checks.sh WHEELS_DIR PHOTOS_DIR OUT_DIR [STEP ...]
#
# Installs the project and its wheels into private folders, builds gsplat's CUDA kernels (or installs the build
# saved by an earlier run, $GSPLAT_BUILD_TAR), then runs the named steps:
#   gpu-tests         the GPU tests (our rasteriser against gsplat)
#   synthesis         benchmark the synthesis of every photo in PHOTOS_DIR
#   train-NAME        ns-train mom4d on PHOTOS_DIR/NAME.jpg
#   render-NAME       render the four test camera paths of that run into OUT_DIR/paths_NAME.mp4
#   profile-NAME      time and profile a shortened mom4d run on PHOTOS_DIR/NAME.jpg
#   web-NAME          mom4d-export web on the run of train-NAME (the page and the model's renders in web_NAME.tar.gz)
#   render-profile-NAME  frame rates and a per-part profile of rendering the trained run of train-NAME
#   benchmark         scripts/benchmark.py with the arguments in $BENCHMARK_ARGS (see the step below)
#   scaling           scripts/benchmark_scaling.py with the arguments in $SCALING_ARGS (time and memory against
#                     photo size and loop length)
#   compare-rendering frame rates, profile and frames of the scaling step's default-sized run, rendered by this tree
#                     and by the earlier version in the archive $BEFORE_TAR (git archive of its commit)
#   real-photos       scripts/benchmark_real_photos.py on the real-photo set at the working sizes $REAL_SIZES
#                     (default 256 1024), for this tree and, when $BEFORE_TAR is set, for that earlier version (at
#                     $REAL_BEFORE_SIZES, default the same sizes)
#                     (results, reports and contact sheets in real_photos_after.tar and real_photos_before.tar)
# Only the steps that train or render need gsplat's kernels; the others run without building them.
# Results land in OUT_DIR; a freshly built gsplat is saved there as gsplat_cuda.tar.gz for later runs.
set -euo pipefail
wheels=$1 photos=$2 out=$3
shift 3
steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(gpu-tests synthesis)
deps=/tmp/mom4d-deps project=/tmp/mom4d-project
export PYTHONPATH=$project:$deps PATH=$project/bin:$deps/bin:$PATH PYTHONUNBUFFERED=1
export MAX_JOBS=${MAX_JOBS:-16} TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0} TORCH_EXTENSIONS_DIR=/tmp/torch-extensions
mkdir -p "$out"
setup_started=$(date +%s)

if [ ! -d "$deps/gsplat" ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target "$deps" "$wheels"/*.whl
fi
rm -rf "$project"
python3 -m pip install -q --no-index --no-deps --no-build-isolation --target "$project" .

needs_gsplat=0
for step in "${steps[@]}"; do
  case $step in synthesis|real-photos) ;; *) needs_gsplat=1 ;; esac
done
if [ $needs_gsplat = 1 ]; then
build=$TORCH_EXTENSIONS_DIR/gsplat_cuda
if [ -n "${GSPLAT_BUILD_TAR:-}" ] && [ -f "$GSPLAT_BUILD_TAR" ] && [ ! -f "$deps/gsplat/gsplat_cuda.so" ]; then
  # gsplat imports a prebuilt `gsplat.csrc` before it tries to compile: install the saved library under that name.
  tar -xzf "$GSPLAT_BUILD_TAR" -C "$deps/gsplat" ./gsplat_cuda.so
  cat > "$deps/gsplat/csrc.py" <<'LOADER'
"""gsplat's CUDA kernels, from a build saved by an earlier run."""
import importlib.util
import pathlib
import sys

import torch  # noqa: F401  (the library links against torch's)

_spec = importlib.util.spec_from_file_location("gsplat_cuda", pathlib.Path(__file__).with_name("gsplat_cuda.so"))
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
sys.modules[__name__] = _module
LOADER
fi
started=$(date +%s)
python3 -c "from gsplat.cuda._backend import _C; assert _C is not None, 'gsplat CUDA kernels unavailable'"
echo "gsplat kernels ready after $(( $(date +%s) - started )) s" | tee "$out/setup.txt"
if [ -z "${GSPLAT_BUILD_TAR:-}" ] || [ ! -f "${GSPLAT_BUILD_TAR:-}" ]; then
  tar -czf "$out/gsplat_cuda.tar.gz" -C "$build" .
fi
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"
echo "set up in $(( $(date +%s) - setup_started )) s" | tee -a "$out/setup.txt"

# ns-render insists on an ffmpeg program even when it writes image files, which need none.
if ! command -v ffmpeg >/dev/null; then
  mkdir -p /tmp/no-ffmpeg && printf '#!/bin/sh\necho "ffmpeg is not installed" >&2\nexit 1\n' >/tmp/no-ffmpeg/ffmpeg
  chmod +x /tmp/no-ffmpeg/ffmpeg
  export PATH=$PATH:/tmp/no-ffmpeg
fi

for step in "${steps[@]}"; do
  case $step in
    gpu-tests)
      python3 -m pytest -q -m gpu -p no:cacheprovider tests/rendering 2>&1 | tee "$out/gpu_tests.log" || true ;;
    synthesis)
      python3 scripts/benchmark_synthesis.py "$photos"/*.jpg --output "$out/synthesis_gpu.json" 2>&1 | tail -n 20 | tee "$out/synthesis_gpu.log" ;;
    train-*)
      name=${step#train-}
      started=$(date +%s)
      ns-train mom4d --data "$photos/$name.jpg" --output-dir /tmp/runs --experiment-name "$name" --timestamp run \
        --vis tensorboard --viewer.quit-on-train-completion True 2>&1 | tail -n 12 | tee "$out/train_$name.log"
      echo "image to trained scene: $(( $(date +%s) - started )) s" | tee -a "$out/train_$name.log" ;;
    web-*)
      # mom4d-export web on the run of train-NAME, with the model's renders of the input view beside the page, so
      # that the page can be measured in a browser elsewhere (benchmark_web.py --page ... --references ...).
      name=${step#web-}
      python3 scripts/benchmark_web.py --load-config /tmp/runs/$name/mom4d/run/config.yml --output-dir /tmp/web/page \
        --references /tmp/web/references --json "$out/web_$name.json" --hardware "$(nvidia-smi --query-gpu=name \
        --format=csv,noheader | head -n 1), export only" 2>&1 | tail -n 30 | tee "$out/web_$name.log"
      tar -czf "$out/web_$name.tar.gz" -C /tmp/web page references || true ;;
    render-profile-*)
      name=${step#render-profile-}
      python3 scripts/profile_rendering.py --load-config /tmp/runs/$name/mom4d/run/config.yml \
        --output "$out/render_profile_$name.json" 2>&1 | tee "$out/render_profile_$name.log" | tail -n 60 ;;
    render-*)
      name=${step#render-}
      run=/tmp/runs/$name/mom4d/run
      mom4d-camera-paths --load-config "$run/config.yml" --output-dir "$run/camera_paths" | tail -n 1
      for path in up_down side zoom_in circle; do
        ns-render camera-path --load-config "$run/config.yml" --camera-path-filename "$run/camera_paths/$path.json" \
          --output-path "/tmp/renders/$name/$path" --output-format images --image-format jpeg 2>&1 | tail -n 1
      done
      python3 scripts/path_grid_video.py /tmp/renders/$name/{up_down,side,zoom_in,circle} -o "$out/paths_$name.mp4" ;;
    profile-*)
      name=${step#profile-}
      python3 scripts/profile_training.py "$photos/$name.jpg" --output /tmp/profile 2>&1 | grep -v "it/s\|━" | tee "$out/profile_$name.log" | tail -n 80 ;;
    benchmark)
      # scripts/benchmark.py with $BENCHMARK_ARGS, stopped after $BENCHMARK_TIMEOUT seconds (what it measured by then
      # stays in results.json); results, report and pictures come back as benchmark.tar.
      timeout "${BENCHMARK_TIMEOUT:-480}" python3 scripts/benchmark.py ${BENCHMARK_ARGS:-} --output /tmp/benchmark \
        --pictures /tmp/benchmark/pictures --report /tmp/benchmark/report.md > "$out/benchmark.log" 2>&1 || true
      grep -a "INFO\|Error\|Traceback" "$out/benchmark.log" | grep -av "it/s" | tail -n 60 || true
      tar -cf "$out/benchmark.tar" -C /tmp/benchmark $(cd /tmp/benchmark && ls -d results.json report.md pictures 2>/dev/null) || true ;;
    scaling)
      timeout "${SCALING_TIMEOUT:-420}" python3 scripts/benchmark_scaling.py ${SCALING_ARGS:-} --output /tmp/scaling \
        > "$out/scaling.log" 2>&1 || true
      cp /tmp/scaling/results.json "$out/scaling.json" || true
      grep -a "INFO\|Error\|Traceback" "$out/scaling.log" | grep -av "it/s" | tail -n 30 || true ;;
    compare-rendering)
      config=$(ls /tmp/scaling/runs/1024px-60f/mom4d/*/config.yml | head -n 1)
      rm -rf /tmp/before /tmp/mom4d-before && mkdir -p /tmp/before && tar -xf "$BEFORE_TAR" -C /tmp/before
      python3 -m pip install -q --no-index --no-deps --no-build-isolation --target /tmp/mom4d-before /tmp/before
      PYTHONPATH=/tmp/mom4d-before:$deps python3 scripts/profile_rendering.py --load-config "$config" \
        --output "$out/render_before.json" --frames /tmp/frames_before.npy > "$out/render_before.log" 2>&1 || true
      python3 scripts/profile_rendering.py --load-config "$config" --output "$out/render_after.json" \
        --compare-with /tmp/frames_before.npy > "$out/render_after.log" 2>&1 || true
      cat "$out/render_before.json" "$out/render_after.json" || true ;;
    real-photos)
      python3 scripts/benchmark_real_photos.py --visible-sizes ${REAL_SIZES:-256 1024} --output /tmp/real_after \
        --report /tmp/real_after/report.md --sheet /tmp/real_after/sheet.jpg > "$out/real_after.log" 2>&1 || true
      tail -n 40 /tmp/real_after/report.md || tail -n 20 "$out/real_after.log"
      tar -cf "$out/real_photos_after.tar" -C /tmp/real_after . || true
      if [ -n "${BEFORE_TAR:-}" ]; then
        rm -rf /tmp/before && mkdir -p /tmp/before && tar -xf "$BEFORE_TAR" -C /tmp/before
        python3 scripts/benchmark_real_photos.py --code /tmp/before --visible-sizes ${REAL_BEFORE_SIZES:-${REAL_SIZES:-256 1024}} \
          --output /tmp/real_before --report /tmp/real_before/report.md --sheet /tmp/real_before/sheet.jpg \
          > "$out/real_before.log" 2>&1 || true
        tail -n 40 /tmp/real_before/report.md || tail -n 20 "$out/real_before.log"
        tar -cf "$out/real_photos_before.tar" -C /tmp/real_before . || true
      fi ;;
    *)
      echo "unknown step $step" >&2; exit 2 ;;
  esac
done
