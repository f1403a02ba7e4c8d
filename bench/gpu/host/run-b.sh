#!/usr/bin/env bash
# Second call on the warm GPU host (after run-a.sh): the CUDA EP libraries, then bench:gpu. Writes
# $OUT/bench.jsonl (JSON lines + the table) and $OUT/stderr.log. BENCH_TIMEOUT / BENCH_DEADLINE (seconds)
# and BENCH_PHASES narrow the run.
set -u
OPT=/opt/kit
test -x $OPT/bin/node || { echo 'kit-a missing: machine was not warm'; exit 3; }
tar xJf .kit/b/kit-b.tar.xz -C $OPT/node_modules/onnxruntime-node/bin/napi-v6/linux/x64
SP=/opt/torch/.venv/lib/python3.12/site-packages/nvidia
export LD_LIBRARY_PATH=$SP/cu13/lib:$SP/cudnn/lib:/usr/local/cuda-13.0/targets/x86_64-linux/lib:${LD_LIBRARY_PATH:-}
PY=/opt/torch/.venv/bin/python3
if PYTHONPATH=/opt/diffusers/src $PY -c "from diffusers.models.transformers.transformer_cosmos3 import Cosmos3OmniTransformer" 2>/dev/null; then
  export TORCH_PYTHON=$PY DIFFUSERS_SRC=/opt/diffusers/src TORCH_SCRIPT=$OPT/torch_forward.py
fi
# info and above: ONNX Runtime reports at INFO each node the CUDA EP has no kernel for ("CUDA kernel not found
# in registries for Op type: X node name: Y"), which then runs on the CPU provider
export C3S_ORT_LOG_LEVEL=1
timeout ${BENCH_TIMEOUT:-540} $OPT/bin/node $OPT/bench-gpu.mjs --dir /tmp/c3s-gpu --deadline-s ${BENCH_DEADLINE:-510} \
  --phases ${BENCH_PHASES:-model,forward,t2i,t2v,profile,kernels,torch} 2> $OUT/stderr.log | tee $OUT/bench.jsonl
echo "bench rc=${PIPESTATUS[0]}"
echo "--- nodes without a CUDA kernel (op type: count):"
grep -o "CUDA kernel not found in registries for Op type: [A-Za-z0-9_]*" $OUT/stderr.log | awk '{print $NF}' | sort | uniq -c
grep -v "^\s*$" $OUT/stderr.log | grep -E "\[bench:gpu\]|\[E:|\[W:" | grep -v "CleanUnusedInitializers" | head -30
