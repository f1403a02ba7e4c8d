import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/** bench:gpu at toy size on the CPU provider: the script itself keeps working between GPU sessions. */
describe('bench:gpu --tiny', () => {
  it('prints forward, text2image and VAE lines and the summary table', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'c3s-bench-gpu-'));
    try {
      const out = execFileSync(process.execPath, [path.resolve('dist/bench/gpu/run.js'), '--tiny', '--dir', dir, '--runs', '1'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      const lines = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.some((l) => l.phaseFailed), JSON.stringify(lines.find((l) => l.phaseFailed))).toBe(false);
      for (const variant of ['fused', 'unfused']) expect(lines.find((l) => l.forward && l.variant === variant)?.seconds).toBeGreaterThan(0);
      for (const variant of ['pair', 'split', 'single']) expect(lines.find((l) => l.text2image && l.variant === variant)?.seconds).toBeGreaterThan(0);
      expect(lines.find((l) => typeof l.weights === 'string')?.weights).toMatch(/layers share one stored layer/);
      // text2video as served: every step timed, the clip decoded, the request's peak (no nvidia-smi here: 0)
      const t2v = lines.find((l) => l.text2video === 'tiny 17f') as { frames: number; stepSeconds: number[]; stages: Record<string, number> };
      expect(t2v.frames).toBe(17);
      expect(t2v.stepSeconds).toHaveLength(3);
      expect(t2v.stepSeconds.every((x) => x > 0)).toBe(true);
      expect(t2v.stages.vae_decode).toBeGreaterThan(0);
      expect(lines.find((l) => l.projectedText2videoSeconds)?.projectedText2videoSeconds).toBeGreaterThan(0);
      // the served decode to RGB bytes beside the float32 graph + host conversion
      const bytes = lines.find((l) => l.vaeToBytes === 'tiny 17f') as { rgb8GraphSeconds: number; float32PlusHostSeconds: number };
      expect(bytes.rgb8GraphSeconds).toBeGreaterThan(0);
      expect(bytes.float32PlusHostSeconds).toBeGreaterThan(0);
      expect(out).toMatch(/\| VAE decode to RGB bytes at the tiny 17f size: rgb8 graph[^|]*\| [\d.]+ s \/ [\d.]+ s: [\d.]+ \|/);
      const profile = lines.filter((l) => l.profile) as { profile: string; kernelTime?: boolean; nodes: number; byOp: { op: string; ms: number }[] }[];
      // host-side profiles in the bench's process, then the child process's (synchronous launches: GPU time per node)
      expect(profile.map((p) => [p.profile, p.kernelTime === true])).toEqual([
        ['transformer, text2image 720p (920 vision tokens), fused single graph', false],
        ['transformer_gen_action, text2image 720p (920 vision tokens, text K/V fed), as served', false],
        ['transformer, text2image 720p (920 vision tokens), fused single graph', true],
        ['transformer, tiny 17f (30 vision tokens), fused single graph', true],
        ['VAE decoder loop (RGB bytes out), 3 latent frames 96×64', true],
      ]);
      for (const p of profile.filter((x) => !x.profile.startsWith('VAE'))) {
        expect(p.nodes).toBeGreaterThan(50);
        expect(p.byOp.map((o) => o.op)).toEqual(expect.arrayContaining(['Gemm', 'MultiHeadAttention']));
      }
      expect(profile[4].byOp.map((o) => o.op)).toEqual(expect.arrayContaining(['Conv', 'QuickGelu']));
      expect(out).toMatch(/\| kernel time per op \(synchronous launches\): VAE decoder loop/);
      expect(out).toMatch(/\| metric \| measured \(cpu\) \| target \/ published \|/);
      expect(out).toMatch(/fused\/elementwise \d/);
      expect(out).toMatch(/\| one generator pass at the tiny 17f size as served: transformer_gen_merged[^|]*\| [\d.]+ s \/ [\d.]+ s: [\d.]+ \|/);
      expect(lines.find((l) => l.servedForward && l.variant === 'pair')?.graphs).toEqual(['transformer_text', 'transformer_gen_merged']);
      expect(out).toMatch(/\| denoiser at 30 vision tokens \(tiny 17f\): one forward, fused single graph \/ one CFG step as served[^|]*\| [\d.]+ s \/ [\d.]+ s/);
      expect(out).toMatch(/\| projected text2video tiny 17f, 35 steps, CFG 6[^|]*\| [\d.]+ s \| ≤ 200 s \(published H100: PyTorch reference 207\.8 s, vLLM-Omni 202\.3 s/);
      expect(out).toMatch(/\| text2video tiny 17f as served: VAE decode of 17 frames[^|]*\| [\d.]+ s; [\d.]+ GB \| VAE ≤ 8 s/);
      expect(out).toMatch(/pair\/split \d.*split\/single \d/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
