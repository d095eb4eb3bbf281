#!/usr/bin/env bash
# Install mom4d and its dependencies into a virtual environment, then check that everything imports.
#
#   bash scripts/install.sh            # creates ./.venv (or reuses it)
#   MOM4D_VENV=/path/to/env bash scripts/install.sh
#   PYTHON=python3.11 bash scripts/install.sh
#
# torch and torchvision must be builds made for each other. Some machines offer a CPU-only torch wheel through
# a local pip `find-links`, while the package index only has CUDA builds of torchvision: pip then mixes the two
# and `import torchvision` fails. This script installs both from the package index alone (`pip --isolated`,
# which ignores local pip configuration); the CUDA build of torch also runs on machines without a GPU.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

python=${PYTHON:-python3}
venv=${MOM4D_VENV:-.venv}

fail() {
  echo "mom4d install: $*" >&2
  exit 1
}

"$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null ||
  fail "Python >= 3.10 is needed; '$python' is $("$python" --version 2>&1). Set PYTHON to a newer interpreter."

if [ ! -x "$venv/bin/python" ]; then
  echo "Creating the virtual environment $venv"
  "$python" -m venv "$venv" || fail "could not create a virtual environment at $venv (is the python venv module installed?)"
fi
py="$venv/bin/python"
"$py" -m pip install -q --upgrade pip

if ! "$py" -c 'import torch, torchvision' >/dev/null 2>&1; then
  echo "Installing torch and torchvision (matching builds, from the package index)"
  "$py" -m pip install -q --isolated torch torchvision ||
    fail "pip could not install torch and torchvision from the package index (see the messages above)."
fi

echo "Installing mom4d with nerfstudio, gsplat and the test tools"
"$py" -m pip install -q -e ".[depth,test]" || fail "pip could not install mom4d (see the messages above)."

# ns-render looks for an `ffmpeg` program; the imageio-ffmpeg wheel carries one, linked into the environment.
if ! command -v ffmpeg >/dev/null 2>&1 && [ ! -e "$venv/bin/ffmpeg" ]; then
  ln -s "$("$py" -c 'import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())')" "$venv/bin/ffmpeg" ||
    echo "mom4d install: could not link imageio-ffmpeg's ffmpeg into $venv/bin; ns-render needs an ffmpeg program." >&2
fi

# nerfstudio's `ns-export` imports open3d, which needs the system library libusb-1.0 (mom4d itself does not).
if ! "$py" -c 'import open3d' >/dev/null 2>&1; then
  apt_install="apt-get install -y -q --no-install-recommends libusb-1.0-0"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing libusb-1.0-0, which open3d (used by ns-export) needs"
    $apt_install >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && $apt_install >/dev/null 2>&1; } || true
  elif command -v apt-get >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
    echo "Installing libusb-1.0-0, which open3d (used by ns-export) needs"
    sudo $apt_install >/dev/null 2>&1 || { sudo apt-get update -q >/dev/null 2>&1 && sudo $apt_install >/dev/null 2>&1; } || true
  fi
  if ! error=$("$py" -c 'import open3d' 2>&1); then
    echo "mom4d install: ns-export will not work until open3d imports: $(echo "$error" | tail -n 1)
  open3d needs the system library libusb-1.0. Install it, then check with:  $py -c 'import open3d'
    Debian/Ubuntu:  sudo apt-get install libusb-1.0-0      Fedora:  sudo dnf install libusb1
  Everything else (ns-train, ns-viewer, ns-render, mom4d-export) works without it." >&2
  fi
fi

# The web page's viewer script (mom_nerfstudio/web/static/viewer.js) is committed, so mom4d-export web works without
# Node.js; where npm is found it is rebuilt from its sources with the pinned esbuild (package-lock.json).
web_js=mom_nerfstudio/web/js
if command -v npm >/dev/null 2>&1; then
  echo "Building the web viewer's script ($web_js: npm ci && npm run build)"
  (cd "$web_js" && npm ci --no-audit --no-fund --loglevel=error >/dev/null && npm run --silent build >/dev/null) ||
    echo "mom4d install: npm could not build the web viewer; mom4d-export web uses the committed $web_js/../static/viewer.js." >&2
else
  echo "mom4d install: npm not found; mom4d-export web uses the committed viewer script. To rebuild it after editing
  $web_js/src, install Node.js >= 18 with npm, then run:  cd $web_js && npm ci && npm run build" >&2
fi

# Headless Chromium (Debian's chromium) runs the web page's tests, scripts/benchmark_web.py and
# scripts/viewer_screenshots.py; the browser tests skip without it.
if [ ! -x /usr/bin/chromium ] && ! command -v chromium >/dev/null 2>&1; then
  apt_chromium="apt-get install -y -q --no-install-recommends chromium"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing chromium, which the web page's tests and benchmark open the page in"
    $apt_chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && $apt_chromium >/dev/null 2>&1; } || true
  elif command -v apt-get >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
    echo "Installing chromium, which the web page's tests and benchmark open the page in"
    sudo $apt_chromium >/dev/null 2>&1 || { sudo apt-get update -q >/dev/null 2>&1 && sudo $apt_chromium >/dev/null 2>&1; } || true
  fi
  if [ ! -x /usr/bin/chromium ] && ! command -v chromium >/dev/null 2>&1; then
    echo "mom4d install: no Chromium found; the web page's browser tests will be skipped, and scripts/benchmark_web.py
  and scripts/viewer_screenshots.py need one.  Debian/Ubuntu:  sudo apt-get install chromium" >&2
  fi
fi

if ! error=$("$py" -c 'import torch, torchvision' 2>&1); then
  fail "torch and torchvision are installed but do not import together:
$error
They are probably builds that do not belong together (for example a CPU-only torch with a CUDA torchvision).
Reinstall both from the package index:  $py -m pip install --isolated --force-reinstall torch torchvision"
fi
if ! error=$("$py" -c 'import nerfstudio, gsplat, dataparsers, mom_nerfstudio' 2>&1); then
  fail "mom4d or nerfstudio does not import:
$error"
fi
"$py" - <<'PY'
from importlib.metadata import version

import torch

print(f"mom4d installed: torch {version('torch')}, torchvision {version('torchvision')}, "
      f"nerfstudio {version('nerfstudio')}, gsplat {version('gsplat')}, GPU: {torch.cuda.is_available()}")
PY
echo "Activate it with:  source $venv/bin/activate"
