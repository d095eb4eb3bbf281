#!/usr/bin/env bash
# GPU checks and benchmarks on a machine with a CUDA GPU and no network.
#
#   bash scripts/gpu_checks.sh WHEELS_DIR PHOTOS_DIR OUT_DIR [STEP ...]
#
# Installs the project and its wheels into a private folder, builds gsplat's CUDA kernels (once per machine),
# then runs the named steps (default: gpu-tests synthesis). Results land in OUT_DIR.
set -euo pipefail
wheels=$1 photos=$2 out=$3
shift 3
steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(gpu-tests synthesis)
site=/tmp/mom4d-site
export PYTHONPATH=$site PATH=$site/bin:$PATH PYTHONUNBUFFERED=1
export MAX_JOBS=${MAX_JOBS:-16} TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}
mkdir -p "$out"

if [ ! -d "$site/gsplat" ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target "$site" "$wheels"/*.whl
  python3 -m pip install -q --no-index --no-deps --no-build-isolation --target "$site" .
fi
started=$(date +%s)
python3 -c "from gsplat.cuda._backend import _C; assert _C is not None, 'gsplat CUDA kernels unavailable'"
echo "gsplat kernels ready after $(( $(date +%s) - started )) s"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"

for step in "${steps[@]}"; do
  case $step in
    gpu-tests)
      python3 -m pytest -q -m gpu -p no:cacheprovider tests/test_rasterizer_gpu.py 2>&1 | tee "$out/gpu_tests.log" || true ;;
    synthesis)
      python3 scripts/benchmark_synthesis.py "$photos"/*.jpg --output "$out/synthesis_gpu.json" 2>&1 | tail -n 20 | tee "$out/synthesis_gpu.log" ;;
    train-*)
      # train-<photo name>: train mom4d on one photo, then render the four test camera paths.
      name=${step#train-}
      run=/tmp/runs/$name/mom4d/run
      # ns-render insists on an ffmpeg program even when it writes image files, which need none.
      mkdir -p /tmp/no-ffmpeg && printf '#!/bin/sh\necho "ffmpeg is not installed" >&2\nexit 1\n' >/tmp/no-ffmpeg/ffmpeg
      chmod +x /tmp/no-ffmpeg/ffmpeg
      started=$(date +%s)
      ns-train mom4d --data "$photos/$name.jpg" --output-dir /tmp/runs --experiment-name "$name" --timestamp run \
        --vis tensorboard --viewer.quit-on-train-completion True 2>&1 | tail -n 25 | tee "$out/train_$name.log"
      echo "training wall time $(( $(date +%s) - started )) s" | tee -a "$out/train_$name.log"
      mom4d-camera-paths --load-config "$run/config.yml" --output-dir "$run/camera_paths"
      for path in up_down side zoom_in circle; do
        PATH=$PATH:/tmp/no-ffmpeg ns-render camera-path --load-config "$run/config.yml" \
          --camera-path-filename "$run/camera_paths/$path.json" --output-path "/tmp/renders/$name/$path" \
          --output-format images --image-format jpeg 2>&1 | tail -n 2
      done
      python3 scripts/path_grid_video.py /tmp/renders/$name/{up_down,side,zoom_in,circle} -o "$out/paths_$name.mp4" ;;
    *)
      echo "unknown step $step" >&2; exit 2 ;;
  esac
done
