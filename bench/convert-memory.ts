/**
 * Peak memory of `convert` as the checkpoint grows: writes synthetic real-width Cosmos3 transformer
 * checkpoints (hidden 4096, 32/8 heads of 128, SwiGLU 12288; bf16; a reduced vocabulary to save disk) with
 * 2 and 8 layers, converts each in a fresh child process (bf16 hard-linked, and fp16 converted chunk by
 * chunk) and prints the child's peak RSS. Flat numbers across layer counts mean memory does not scale with
 * the checkpoint. Usage: node dist/bench/convert-memory.js [--layers 2,8] [--dir /tmp/x]
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { convertCheckpoint, transformerWeightSpecs, TransformerConfigSchema, writeSafetensors, type ComputeDtype } from '../src/convert/index.js';

function realWidthConfig(layers: number) {
  return {
    hidden_size: 4096, num_hidden_layers: layers, num_attention_heads: 32, num_key_value_heads: 8, head_dim: 128,
    intermediate_size: 12288, rms_norm_eps: 1e-6, rope_theta: 5e6, rope_axes_dim: [24, 20, 20], latent_channel: 48,
    latent_patch_size: 2, vocab_size: 16384, base_fps: 24, unified_3d_mrope_temporal_modality_margin: 15000,
    action_gen: true, action_dim: 64, num_embodiment_domains: 32, sound_gen: false,
  };
}

/** bf16 bytes of small pseudo-random values; one reused 1 MiB block keeps generation cheap. */
const block = (() => {
  const b = new Uint16Array(512 * 1024);
  let s = 12345;
  for (let i = 0; i < b.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    b[i] = 0x3c00 + ((s >>> 16) & 0x3ff) - 0x200; // ~±2^-7..2^-6
  }
  return b;
})();

async function writeCheckpoint(dir: string, layers: number): Promise<number> {
  const cfg = realWidthConfig(layers);
  const specs = transformerWeightSpecs(TransformerConfigSchema.parse(cfg), { timeFreqDim: 256 });
  await mkdir(path.join(dir, 'transformer'), { recursive: true });
  await writeFile(path.join(dir, 'transformer', 'config.json'), JSON.stringify(cfg));
  let bytes = 0;
  await writeSafetensors(
    path.join(dir, 'transformer', 'diffusion_pytorch_model.safetensors'),
    specs.map((s) => ({ name: s.name, dtype: 'BF16' as const, shape: s.shape })),
    (name) => {
      const s = specs.find((x) => x.name === name)!;
      const n = s.shape.reduce((a, b) => a * b, 1);
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i += block.length) out.set(block.subarray(0, Math.min(block.length, n - i)), i);
      bytes += n * 2;
      return out;
    },
  );
  return bytes;
}

async function child(checkpoint: string, out: string, dtype: ComputeDtype): Promise<void> {
  const t0 = performance.now();
  await convertCheckpoint({ checkpoint, out, dtype, hash: false, servable: false }); // a transformer-only checkpoint
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(JSON.stringify({ seconds, peakRssMB: process.resourceUsage().maxRSS / 1024 }) + '\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { layers: { type: 'string', default: '2,8' }, dir: { type: 'string' }, child: { type: 'string', multiple: true } }, strict: true });
  if (values.child) {
    const [ckpt, out, dtype] = values.child;
    await child(ckpt, out, dtype as ComputeDtype);
    return;
  }
  const base = values.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'c3s-bench-convert-')));
  const self = fileURLToPath(import.meta.url);
  try {
    for (const layers of values.layers!.split(',').map(Number)) {
      const ckpt = path.join(base, `ckpt-${layers}`);
      const checkpointBytes = await writeCheckpoint(ckpt, layers);
      for (const [label, dtype] of [['bf16 (linked)', 'bfloat16'], ['fp16 (converted)', 'float16']] as const) {
        const out = path.join(base, `out-${layers}-${dtype}`);
        const res = JSON.parse(execFileSync(process.execPath, [self, '--child', ckpt, '--child', out, '--child', dtype], { encoding: 'utf8' }).trim().split('\n').pop()!);
        process.stdout.write(JSON.stringify({ bench: 'convert-memory', device: 'cpu', layers, hidden: 4096, checkpointGB: +(checkpointBytes / 2 ** 30).toFixed(2), mode: label, seconds: +res.seconds.toFixed(1), peakRssMB: Math.round(res.peakRssMB) }) + '\n');
        await rm(out, { recursive: true, force: true });
      }
      await rm(ckpt, { recursive: true, force: true });
    }
  } finally {
    if (!values.dir) await rm(base, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  });
}
