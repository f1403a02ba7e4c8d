import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { FixtureError, relL2, tensor, type HostTensor } from '../../shared/index.js';
import { readConfig, SchedulerConfigSchema, type Manifest } from '../../convert/index.js';
import { OrtDenoiser } from '../../engine/ort-denoiser.js';
import { OrtVae } from '../../engine/ort-vae.js';
import { denormaliseLatents, flowSchedule, mropePositions, sample, UniPcScheduler, type MropeConfig, type TextPass } from '../../pipeline/index.js';
import type { GoldenCase } from './fixture.js';
import { maskOf, type CaseResult } from './transformer-case.js';

async function readJson<T>(file: string): Promise<T> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (cause) {
    throw new FixtureError(file, 'missing or not JSON', { cause });
  }
}

/** Exact equality of integer sequences as a 0/1 "error" (a timestep off by one is a failure). */
function exact(name: string, ours: readonly number[], ref: readonly number[]): CaseResult {
  const same = ours.length === ref.length && ours.every((v, i) => v === ref[i]);
  return { name, relErr: same ? 0 : 1, tolerance: 0 };
}

/** sched_* cases: both schedule variants, the fixed-velocity UniPC steps and the reference schedules. */
export async function runSchedulerCase(c: GoldenCase, fixture: string, tolerance: number): Promise<CaseResult[]> {
  const cfg = await readConfig(path.join(fixture, 'scheduler', 'scheduler_config.json'), SchedulerConfigSchema);
  const solver = { order: cfg.solver_order, lowerOrderFinal: cfg.lower_order_final };
  const results: CaseResult[] = [];
  for (const variant of ['default', 'native'] as const) {
    if (!c.has(`${variant}_timesteps`)) continue;
    const ref = await c.i64(`${variant}_timesteps`);
    const s = flowSchedule(ref.length, cfg.flow_shift, { numTrainTimesteps: cfg.num_train_timesteps, native: variant === 'native' });
    results.push(exact(`${variant}_timesteps`, s.timesteps, ref));
    results.push({ name: `${variant}_sigmas`, relErr: relL2(s.sigmas, (await c.f32(`${variant}_sigmas`)).data), tolerance });
    const solverState = new UniPcScheduler(s.sigmas, solver);
    let x = (await c.f32(`${variant}_x_init`)).data;
    for (let i = 0; c.has(`${variant}_step${i}_v`); i++) {
      x = solverState.step((await c.f32(`${variant}_step${i}_v`)).data, x);
      results.push({ name: `${variant}_step${i}_x`, relErr: relL2(x, (await c.f32(`${variant}_step${i}_x`)).data), tolerance });
    }
  }
  for (const name of c.tensorNames) {
    const m = /^ref_(.+)_(\d+)_shift([\d.]+)_(default|native)_timesteps$/.exec(name);
    if (!m) continue;
    const s = flowSchedule(Number(m[2]), Number(m[3]), { numTrainTimesteps: cfg.num_train_timesteps, native: m[4] === 'native' });
    results.push(exact(name, s.timesteps, await c.i64(name)));
    results.push({ name: name.replace(/timesteps$/, 'sigmas'), relErr: relL2(s.sigmas, (await c.f32(name.replace(/timesteps$/, 'sigmas'))).data), tolerance });
  }
  if (results.length === 0) throw new FixtureError(c.name, 'holds no schedule to check');
  return results;
}

/**
 * e2e_* cases: from the fixture's initial latents, run our denoising loop (schedule, positions, CFG,
 * masking, UniPC) over our transformer graph and compare every step's latents, the final latents and,
 * for action cases, the action output.
 */
export async function runPipelineCase(c: GoldenCase, fixture: string, modelDir: string, manifest: Manifest, tolerance: number): Promise<CaseResult[]> {
  const call = c.scalars.pipeline_call as { num_inference_steps: number; guidance_scale?: number; fps?: number };
  if (!call) throw new FixtureError(c.name, 'has no pipeline_call scalar');
  const cfg = await readConfig(path.join(fixture, 'scheduler', 'scheduler_config.json'), SchedulerConfigSchema);
  const index = await readJson<{ use_native_flow_schedule?: boolean }>(path.join(fixture, 'model_index.json')).catch(() => ({} as { use_native_flow_schedule?: boolean }));
  const tcfg = await readJson<{ base_fps: number; unified_3d_mrope_temporal_modality_margin: number; sound_latent_fps?: number }>(path.join(fixture, 'transformer', 'config.json'));
  const fps = call.fps ?? 24;
  const guidance = call.guidance_scale ?? 1;
  const schedule = flowSchedule(call.num_inference_steps, cfg.flow_shift, { numTrainTimesteps: cfg.num_train_timesteps, native: index.use_native_flow_schedule ?? false });
  const results: CaseResult[] = [exact('timesteps', schedule.timesteps, await c.i64('timesteps'))];
  results.push({ name: 'sigmas', relErr: relL2(schedule.sigmas, (await c.f32('sigmas')).data), tolerance });

  const mrope: MropeConfig = { baseFps: tcfg.base_fps, margin: tcfg.unified_3d_mrope_temporal_modality_margin, temporalFactor: 4, soundLatentFps: tcfg.sound_latent_fps ?? 25 };
  const initial = await c.f32('initial_latents');
  const [, , T, H, W] = initial.shape;
  const grid = { frames: T, rows: Math.ceil(H / 2), cols: Math.ceil(W / 2) };
  const hasActions = c.has('step0_cond.action_tokens_0');
  const actionSteps = hasActions ? (await c.f32('step0_cond.action_tokens_0')).shape[0] : 0;
  const textPass = async (prefix: string): Promise<TextPass> => {
    const ids = (await c.tensor(`${prefix}.input_ids`)).data as BigInt64Array;
    const positions = mropePositions(mrope, { textLength: ids.length, vision: grid, fps, actionSteps });
    results.push({ name: `${prefix}.position_ids`, relErr: relL2(positions, (await c.f32(`${prefix}.position_ids`)).data), tolerance });
    return { inputIds: ids, positions };
  };
  const cond = await textPass('step0_cond');
  const uncond = c.has('step0_uncond.input_ids') ? await textPass('step0_uncond') : cond;
  if (guidance !== 1 && uncond === cond) throw new FixtureError(c.name, 'uses guidance but holds no unconditional inputs');

  let actions;
  let rawDim = 0;
  if (hasActions) {
    const a = await c.f32('step0.action_in');
    rawDim = c.has('action_out') ? (await c.f32('action_out')).shape[1] : a.shape[1];
    actions = {
      latents: a,
      noisy: maskOf(a.shape[0], await c.i64('step0_cond.action_noisy_frame_indexes_0')),
      domainId: (await c.i64('step0_cond.action_domain_ids_0'))[0],
      rawDim,
    };
  }
  const denoiser = await OrtDenoiser.open(modelDir, manifest, { device: 'cpu' });
  const steps: HostTensor[] = [];
  try {
    const final = await sample(denoiser, {
      cond,
      uncond,
      vision: initial,
      visionNoisy: maskOf(T, await c.i64('step0_cond.vision_noisy_frame_indexes_0')),
      actions,
      timesteps: schedule.timesteps,
      sigmas: schedule.sigmas,
      guidance,
      solver: { order: cfg.solver_order, lowerOrderFinal: cfg.lower_order_final },
    }, { onStep: (_, __, s) => steps.push(tensor(Float32Array.from(s.vision.data), s.vision.shape)) });
    for (let i = 0; i < steps.length; i++) {
      if (c.has(`step${i}.latents_out`)) results.push({ name: `step${i}.latents_out`, relErr: relL2(steps[i].data, (await c.f32(`step${i}.latents_out`)).data), tolerance });
    }
    results.push({ name: 'final_latents', relErr: relL2(final.vision.data, (await c.f32('final_latents')).data), tolerance });
    if (final.actions && c.has('action_out')) {
      const ref = await c.f32('action_out');
      const ours = new Float32Array(ref.data.length);
      const width = final.actions.shape[1];
      for (let r = 0; r < ref.shape[0]; r++) for (let k = 0; k < rawDim; k++) ours[r * rawDim + k] = final.actions.data[r * width + k];
      results.push({ name: 'action_out', relErr: relL2(ours, ref.data), tolerance });
    }
    if (c.has('video') && manifest.graphs.vae_decoder_first) await checkDecode(c, final.vision, modelDir, manifest, tolerance, results);
  } finally {
    await denoiser.release();
  }
  return results;
}

/** The final latents through the pipeline's denormalisation and our VAE decoder, against the stored video. */
async function checkDecode(c: GoldenCase, finalLatents: HostTensor, modelDir: string, manifest: Manifest, tolerance: number, results: CaseResult[]): Promise<void> {
  const vae = await OrtVae.open(modelDir, manifest, { device: 'cpu' });
  try {
    const raw = denormaliseLatents(finalLatents, vae.latentsMean, vae.latentsStd);
    if (c.has('vae_decode_in')) results.push({ name: 'vae_decode_in', relErr: relL2(raw.data, (await c.f32('vae_decode_in')).data), tolerance });
    const px = await vae.decode(raw); // [1, 3, F, H, W] in [-1, 1]
    const [, , F, H, W] = px.shape;
    const video = new Float32Array(F * H * W * 3); // [F, H, W, 3] in [0, 1]
    for (let ch = 0; ch < 3; ch++) {
      for (let f = 0; f < F; f++) {
        for (let p = 0; p < H * W; p++) {
          const v = Math.fround(Math.fround(px.data[(ch * F + f) * H * W + p] + 1) / 2);
          video[(f * H * W + p) * 3 + ch] = v < 0 ? 0 : v > 1 ? 1 : v;
        }
      }
    }
    results.push({ name: 'video', relErr: relL2(video, (await c.f32('video')).data), tolerance });
  } finally {
    await vae.release();
  }
}
