import { describe, expect, it } from 'vitest';
import { parseKernelChild } from '../../bench/gpu/kernel-time.js';

describe('parseKernelChild', () => {
  it('keeps the profile lines and counts the attention debug lines per operator, type and kernel', () => {
    const cyan = (s: string) => `\x1b[36m${s}\x1b[0m`;
    const profile = { profile: 'transformer, x', kernelTime: true, runMs: 12.5, nodes: 300, nodeMs: 11, byOp: [{ op: 'Gemm', nodes: 100, ms: 6 }] };
    const stdout = [
      cyan('AttentionKernelOptions: FLASH_ATTENTION=1 EFFICIENT_ATTENTION=1 CUDNN_FLASH_ATTENTION=0 MATH=1'),
      cyan('Operator=MultiHeadAttention Node=layers.0.mha DataType=bf16 SdpaKernel=CUDNN_FLASH_ATTENTION'),
      cyan('Operator=MultiHeadAttention Node=layers.1.mha DataType=bf16 SdpaKernel=CUDNN_FLASH_ATTENTION'),
      cyan('Operator=MultiHeadAttention Node=mid.attn DataType=bf16 SdpaKernel=EFFICIENT_ATTENTION'),
      JSON.stringify(profile),
      JSON.stringify({ profile: 'not from the child' }),
      '{"profile": "cut',
    ].join('\n');
    const r = parseKernelChild(stdout);
    expect(r.profiles).toEqual([profile]);
    expect(r.attention).toEqual([
      { kernel: 'MultiHeadAttention bf16 CUDNN_FLASH_ATTENTION', calls: 2 },
      { kernel: 'MultiHeadAttention bf16 EFFICIENT_ATTENTION', calls: 1 },
    ]);
  });
});
