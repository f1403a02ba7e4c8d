#!/usr/bin/env bash
# First call on a fresh GPU host: unpacks kit-a (Node.js + onnxruntime-node) to /opt/kit and the diffusers
# source to /opt/diffusers, copies the bundled bench, and prints what the host has (GPU, torch, diffusers).
set -u
OPT=/opt/kit
mkdir -p $OPT && tar xJf .kit/a/kit-a.tar.xz -C $OPT && echo "node $($OPT/bin/node --version)"
mkdir -p /opt/diffusers && tar xJf .kit/a/diffusers-src.tar.xz -C /opt/diffusers && ls /opt/diffusers/src/diffusers | head -3
cp .kit/bench/bench-gpu.mjs .kit/bench/torch_forward.py $OPT/
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
PY=/opt/torch/.venv/bin/python3
$PY -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())" 2>&1 | tail -1
PYTHONPATH=/opt/diffusers/src $PY -c "from diffusers.models.transformers.transformer_cosmos3 import Cosmos3OmniTransformer; print('diffusers cosmos3 import ok')" 2>&1 | tail -1
df -h /tmp | tail -1; free -g | head -2
