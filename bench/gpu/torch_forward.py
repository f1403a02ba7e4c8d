"""Side-by-side reference for bench:gpu: one forward of the diffusers Cosmos3 transformer (eager PyTorch) at the
same sizes as the ONNX Runtime run, on the benchmark's own weights (TORCH_CKPT: its checkpoint, which stores layer
0 for every layer) or random ones. With TORCH_PARITY (a file the benchmark wrote: one forward's inputs and ONNX
Runtime's output) it also compares both engines' output with the reference in float32 on the same weights. The
diffusers source is brought to the GPU host at run time (DIFFUSERS_SRC) and never committed. TORCH_DEVICE
(default cuda) and TORCH_DTYPE (default bfloat16 on cuda, float32 elsewhere) let the same script run on a CPU at
the tiny and mid sizes, to check it before a GPU run. Prints one JSON line per measurement; an error is one JSON
line too (and its traceback on stderr), so the benchmark's table says what failed."""
import json, os, re, sys, time, traceback


def main():
    src = os.environ.get("DIFFUSERS_SRC")
    if src:
        sys.path.insert(0, src)
    import torch
    from diffusers.models.transformers.transformer_cosmos3 import Cosmos3OmniTransformer

    cfg = json.load(open(sys.argv[1]))
    sizes = json.loads(sys.argv[2])  # [[T, H, W], ...] latent sizes
    text_len = int(sys.argv[3]) if len(sys.argv) > 3 else 300
    dev = os.environ.get("TORCH_DEVICE", "cuda")
    cuda = dev.startswith("cuda")
    dtype = getattr(torch, os.environ.get("TORCH_DTYPE", "bfloat16" if cuda else "float32"))
    backend = os.environ.get("TORCH_ATTENTION_BACKEND", "_native_cudnn" if cuda else "native")
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    kwargs = {k: v for k, v in cfg.items() if not k.startswith("_")}
    torch.manual_seed(0)
    t0 = time.time()
    torch.set_default_dtype(dtype)
    with torch.device(dev):
        model = Cosmos3OmniTransformer(**kwargs)
    model.time_embedder.float()
    model.eval()
    try:
        model.set_attention_backend(backend)
    except Exception as e:  # older builds: keep the default backend
        backend = f"default ({e})"
    torch.set_default_dtype(torch.float32)
    print(json.dumps({"torch": torch.__version__, "device": dev, "dtype": str(dtype).removeprefix("torch."),
                      "init_s": round(time.time() - t0, 1), "attention_backend": backend}), flush=True)
    stored = None
    if os.environ.get("TORCH_CKPT"):
        # the benchmark's own weights, so that both engines run the same numbers (its checkpoint stores layer 0
        # only: every layer gets a copy, as ONNX Runtime loads them)
        from safetensors.torch import load_file
        stored = load_file(os.environ["TORCH_CKPT"], device=dev)
        missing = load_shared(model, stored)
        print(json.dumps({"weights": "the benchmark checkpoint (layer 0 copied to every layer)", "not_in_checkpoint": missing[:6], "not_in_checkpoint_count": len(missing)}), flush=True)
    for T, H, W in sizes:
        hp, wp = (H + 1) // 2, (W + 1) // 2
        nv = T * hp * wp
        L = text_len
        N = L + nv
        # mRoPE positions as the pipeline lays them out: text 0..L-1 on all three axes, then the vision grid
        # after the modality margin (frame index on the temporal axis at the base fps)
        pos = torch.zeros(3, N, dtype=torch.float32)
        pos[:, :L] = torch.arange(L, dtype=torch.float32)
        off = float(L + cfg["unified_3d_mrope_temporal_modality_margin"])
        t = torch.arange(T, dtype=torch.float32) + off if T > 1 else torch.full((1,), off)
        tt = t[:, None, None].expand(T, hp, wp).reshape(-1)
        hh = torch.arange(hp, dtype=torch.float32)[None, :, None].expand(T, hp, wp).reshape(-1)
        ww = torch.arange(wp, dtype=torch.float32)[None, None, :].expand(T, hp, wp).reshape(-1)
        pos[0, L:], pos[1, L:], pos[2, L:] = tt, hh, ww
        ids = torch.randint(0, min(1000, cfg["vocab_size"]), (L,))
        latents = torch.randn(1, cfg["latent_channel"], T, H, W)
        args = forward_args(ids, pos, latents.to(dtype), list(range(T)), 900, dev)
        times = []
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        with torch.no_grad():
            for i in range(4):
                sync()
                s = time.time()
                out = model(**args)
                sync()
                if i > 0:
                    times.append(time.time() - s)
        pred = out.sample[0]
        if tuple(pred.shape[-3:]) != (T, H, W) or not bool(torch.isfinite(pred).all()):
            raise RuntimeError(f"unexpected vision output {tuple(pred.shape)} (finite: {bool(torch.isfinite(pred).all())}) for latent {[T, H, W]}")
        times.sort()
        print(json.dumps({"engine": "pytorch", "vision_tokens": nv, "text_tokens": L, "forward_s": round(times[len(times) // 2], 4),
                          "peak_gb": round(torch.cuda.max_memory_allocated() / 2**30, 1) if cuda else None}), flush=True)
    if os.environ.get("TORCH_PARITY") and stored is not None:
        parity(model, Cosmos3OmniTransformer, kwargs, stored, os.environ["TORCH_PARITY"], dev, dtype)


def forward_args(ids, positions, latents, noisy_frames, timestep, dev):
    """The reference transformer's keyword arguments for one vision forward: text rows 0..L-1, then the latent's
    2×2 patches; the frames in `noisy_frames` generated at `timestep`, the others clean (conditioning)."""
    import torch
    T, H, W = latents.shape[2:]
    hp, wp = (H + 1) // 2, (W + 1) // 2
    L, nv = ids.numel(), T * hp * wp
    noisy_tokens = torch.cat([torch.arange(f * hp * wp, (f + 1) * hp * wp) for f in noisy_frames])
    return dict(
        input_ids=ids.to(dev), text_indexes=torch.arange(L, device=dev), position_ids=positions.to(dev),
        und_len=L, sequence_length=L + nv, vision_tokens=[latents.to(dev)], vision_token_shapes=[(T, hp, wp)],
        vision_sequence_indexes=torch.arange(L, L + nv, device=dev), vision_mse_loss_indexes=(L + noisy_tokens).to(dev),
        vision_timesteps=torch.full((noisy_tokens.numel(),), timestep, device=dev, dtype=torch.long),
        vision_noisy_frame_indexes=[torch.tensor(noisy_frames, device=dev)],
    )


def shared_name(name, stored):
    """The checkpoint tensor for a model parameter: its own, else layer 0's (the benchmark stores one layer)."""
    if name in stored:
        return name
    alt = re.sub(r"^layers\.\d+\.", "layers.0.", name)
    return alt if alt in stored else None


def load_shared(model, stored):
    """Copy the checkpoint into the model's parameters; returns the names it does not have."""
    import torch
    missing = []
    with torch.no_grad():
        for name, p in model.state_dict().items():
            src = shared_name(name, stored)
            if src is None:
                missing.append(name)
            else:
                p.copy_(stored[src].to(p.dtype))
    return missing


def parity(model, cls, kwargs, stored, file, dev, dtype):
    """ONNX Runtime's output of one forward (the benchmark wrote its inputs and output to `file`) against the
    reference on the same weights in float32, and the reference in the run dtype against the same: how far each
    engine's low-precision forward is from the float32 one. The float32 model holds one layer, applied
    num_hidden_layers times (the benchmark's layers are copies of one)."""
    import torch
    from safetensors.torch import load_file
    d = load_file(file)
    lat = d["vision_latents"]
    T = lat.shape[2]
    noisy_frames = [f for f in range(T) if float(d["vision_noisy"][f]) > 0]

    def args(dt):
        return forward_args(d["input_ids"], d["positions"], lat.to(dt), noisy_frames, int(float(d["timestep"][0])), dev)

    with torch.device(dev):
        ref = cls(**{**kwargs, "num_hidden_layers": 1}).float().eval()
    load_shared(ref, stored)
    ref.layers = torch.nn.ModuleList([ref.layers[0]] * kwargs["num_hidden_layers"])
    a32 = args(torch.float32)
    with torch.no_grad():
        want = ref(**a32).sample[0].float().cpu()
        ours = model(**args(dtype)).sample[0].float().cpu()
    del ref
    ort = d["vision_velocity"].float()

    def rel(a, b):
        return float((a - b).norm() / b.norm())

    print(json.dumps({"parity": {"vision_tokens": a32["vision_sequence_indexes"].numel(), "text_tokens": a32["und_len"], "run_dtype": str(dtype).removeprefix("torch."),
                                 "ort_vs_reference_fp32": rel(ort, want), "pytorch_vs_reference_fp32": rel(ours, want),
                                 "ort_vs_pytorch": rel(ort, ours)}}), flush=True)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:
        traceback.print_exc()
        print(json.dumps({"engine": "pytorch", "error": f"{type(e).__name__}: {e}"}), flush=True)
        sys.exit(0)
