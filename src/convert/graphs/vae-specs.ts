import { CheckpointConfigError } from '../../shared/index.js';
import type { VaeConfig } from '../model-config.js';
import type { WeightSpec } from '../weights.js';

/**
 * Sizes of the Wan2.2 VAE (AutoencoderKLWan, residual variant) derived from vae/config.json, as the fixtures
 * README "VAE" section states them. Nothing here is a constant of the real model.
 */
export interface VaeDims {
  /** Pixel patch size p (pixels [3, F, H, W] → [3p², F, H/p, W/p]). */
  readonly patch: number;
  readonly zDim: number;
  /** Encoder widths e_0..e_n = base_dim · [1, ...dim_mult]. */
  readonly enc: readonly number[];
  /** Decoder widths d_0..d_n = decoder_base_dim · [dim_mult[-1], ...reversed(dim_mult)]. */
  readonly dec: readonly number[];
  /** Per encoder down block i < n−1: does it halve time. */
  readonly tDown: readonly boolean[];
  /** Per decoder up block i < n−1: does it double time (reversed tDown). */
  readonly tUp: readonly boolean[];
  readonly numResBlocks: number;
  /** Pixels per latent along H and W: p · 2^(n−1). */
  readonly spatialFactor: number;
  /** Pixel frames per later latent frame: 2^(number of temporal downs). */
  readonly temporalFactor: number;
}

/** Check the config describes a VAE these graphs implement and derive its sizes; errors name the field. */
export function vaeDims(cfg: VaeConfig, file = 'vae/config.json'): VaeDims {
  const bad = (field: string, rule: string): never => {
    throw new CheckpointConfigError(file, `${field}: ${rule}`);
  };
  if (!cfg.is_residual) bad('is_residual', 'only the residual Wan2.2 VAE (is_residual: true, patchified, avg-down/dup-up shortcuts) is supported');
  const n = cfg.dim_mult.length;
  const p = cfg.patch_size ?? 1;
  if (cfg.temperal_downsample.length !== n - 1) bad('temperal_downsample', `must have len(dim_mult) − 1 = ${n - 1} entries`);
  if (cfg.in_channels !== 3 * p * p) bad('in_channels', `must be 3·patch_size² = ${3 * p * p} (RGB patchified)`);
  if (cfg.out_channels !== 3 * p * p) bad('out_channels', `must be 3·patch_size² = ${3 * p * p}`);
  if (cfg.latents_mean.length !== cfg.z_dim) bad('latents_mean', `must have z_dim = ${cfg.z_dim} entries`);
  if (cfg.latents_std.length !== cfg.z_dim) bad('latents_std', `must have z_dim = ${cfg.z_dim} entries`);
  if (cfg.latents_std.some((s) => s === 0)) bad('latents_std', 'must not contain 0');
  const enc = [1, ...cfg.dim_mult].map((m) => cfg.base_dim * m);
  const dbd = cfg.decoder_base_dim ?? cfg.base_dim;
  const dec = [cfg.dim_mult[n - 1], ...[...cfg.dim_mult].reverse()].map((m) => dbd * m);
  const tDown = [...cfg.temperal_downsample];
  const tUp = [...tDown].reverse();
  for (let i = 0; i < n - 1; i++) {
    const ft = tDown[i] ? 2 : 1;
    if ((enc[i] * ft * 4) % enc[i + 1] !== 0) bad('dim_mult', `encoder block ${i}: ${enc[i]}·${ft * 4} channels do not group into ${enc[i + 1]}`);
    const fu = tUp[i] ? 2 : 1;
    if ((dec[i + 1] * fu * 4) % dec[i] !== 0) bad('dim_mult', `decoder block ${i}: ${dec[i + 1]}·${fu * 4} channels are not a multiple of ${dec[i]}`);
  }
  if (enc[n - 1] !== enc[n]) bad('dim_mult', 'the last encoder block must keep its width (identity shortcut)');
  return {
    patch: p,
    zDim: cfg.z_dim,
    enc,
    dec,
    tDown,
    tUp,
    numResBlocks: cfg.num_res_blocks,
    spatialFactor: p * 2 ** (n - 1),
    temporalFactor: 2 ** tDown.filter(Boolean).length,
  };
}

const spec = (name: string, ...shape: number[]): WeightSpec => ({ name, shape, role: 'compute' });

function conv3(prefix: string, o: number, i: number): WeightSpec[] {
  return [spec(`${prefix}.weight`, o, i, 3, 3, 3), spec(`${prefix}.bias`, o)];
}

function resBlock(prefix: string, a: number, b: number): WeightSpec[] {
  const s = [
    spec(`${prefix}.norm1.gamma`, a, 1, 1, 1), ...conv3(`${prefix}.conv1`, b, a),
    spec(`${prefix}.norm2.gamma`, b, 1, 1, 1), ...conv3(`${prefix}.conv2`, b, b),
  ];
  if (a !== b) s.push(spec(`${prefix}.conv_shortcut.weight`, b, a, 1, 1, 1), spec(`${prefix}.conv_shortcut.bias`, b));
  return s;
}

function midBlock(prefix: string, d: number): WeightSpec[] {
  const at = `${prefix}.attentions.0`;
  return [
    ...resBlock(`${prefix}.resnets.0`, d, d),
    spec(`${at}.norm.gamma`, d, 1, 1),
    spec(`${at}.to_qkv.weight`, 3 * d, d, 1, 1), spec(`${at}.to_qkv.bias`, 3 * d),
    spec(`${at}.proj.weight`, d, d, 1, 1), spec(`${at}.proj.bias`, d),
    ...resBlock(`${prefix}.resnets.1`, d, d),
  ];
}

/** Every checkpoint tensor the VAE graphs read, with its expected shape (all stored in the compute dtype). */
export function vaeWeightSpecs(cfg: VaeConfig): WeightSpec[] {
  const v = vaeDims(cfg);
  const { enc, dec, zDim: z, numResBlocks: nrb } = v;
  const n = enc.length - 1;
  const pc = 3 * v.patch ** 2;
  const s: WeightSpec[] = [...conv3('encoder.conv_in', enc[0], pc)];
  for (let i = 0; i < n; i++) {
    const pre = `encoder.down_blocks.${i}`;
    for (let j = 0; j < nrb; j++) s.push(...resBlock(`${pre}.resnets.${j}`, j === 0 ? enc[i] : enc[i + 1], enc[i + 1]));
    if (i < n - 1) {
      const d = enc[i + 1];
      s.push(spec(`${pre}.downsampler.resample.1.weight`, d, d, 3, 3), spec(`${pre}.downsampler.resample.1.bias`, d));
      if (v.tDown[i]) s.push(spec(`${pre}.downsampler.time_conv.weight`, d, d, 3, 1, 1), spec(`${pre}.downsampler.time_conv.bias`, d));
    }
  }
  s.push(...midBlock('encoder.mid_block', enc[n]));
  s.push(spec('encoder.norm_out.gamma', enc[n], 1, 1, 1), ...conv3('encoder.conv_out', 2 * z, enc[n]));
  s.push(spec('quant_conv.weight', 2 * z, 2 * z, 1, 1, 1), spec('quant_conv.bias', 2 * z));

  s.push(spec('post_quant_conv.weight', z, z, 1, 1, 1), spec('post_quant_conv.bias', z));
  s.push(...conv3('decoder.conv_in', dec[0], z), ...midBlock('decoder.mid_block', dec[0]));
  for (let i = 0; i < n; i++) {
    const pre = `decoder.up_blocks.${i}`;
    for (let j = 0; j <= nrb; j++) s.push(...resBlock(`${pre}.resnets.${j}`, j === 0 ? dec[i] : dec[i + 1], dec[i + 1]));
    if (i < n - 1) {
      const d = dec[i + 1];
      if (v.tUp[i]) s.push(spec(`${pre}.upsampler.time_conv.weight`, 2 * d, d, 3, 1, 1), spec(`${pre}.upsampler.time_conv.bias`, 2 * d));
      s.push(spec(`${pre}.upsampler.resample.1.weight`, d, d, 3, 3), spec(`${pre}.upsampler.resample.1.bias`, d));
    }
  }
  s.push(spec('decoder.norm_out.gamma', dec[n], 1, 1, 1), ...conv3('decoder.conv_out', pc, dec[n]));
  return s;
}
