#!/usr/bin/env bash
# Prepares .kit/ (git-excluded) for `bench:gpu` on a lent GPU host that has CUDA 13 + cuDNN 9 and a PyTorch
# venv but no Node.js and no network (docs/benchmarks.md, "Running bench:gpu on a lent host").
#   bench/gpu/host/prepare.sh <device-kit/build.sh> [<diffusers git dir>]
# The optional diffusers repository (a bare mirror is enough) gives the reference transformer's source for the
# PyTorch side-by-side run; it is archived into .kit/a (only the first call unpacks it, so the second call's
# load stays small) and never committed.
set -eu
KIT_BUILD=${1:?usage: prepare.sh <device-kit/build.sh> [<diffusers git dir>]}
[ -f .kit/a/kit-a.tar.xz ] && [ -f .kit/b/kit-b.tar.xz ] || bash "$KIT_BUILD" .kit
mkdir -p .kit/bench
npm run --silent bench:gpu:bundle
cp bench/gpu/host/run-a.sh bench/gpu/host/run-b.sh .kit/bench/
if [ -n "${2:-}" ]; then
  git --git-dir "$2" archive --format=tar --prefix=src/ HEAD:src | xz -T0 > .kit/a/diffusers-src.tar.xz
fi
ls -la .kit/a .kit/b .kit/bench
