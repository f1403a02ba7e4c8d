import { expect } from 'vitest';
import { createPipelines, isAbortError, type PipelineInput } from '../../src/pipeline/index.js';
import type { JobProgress, JobSpec, PipelineResult } from '../../src/shared/index.js';
import { fakeNetworks } from './pipeline-fakes.js';
import { tinyFacts } from './pipeline-setup.js';
import { tinyPromptEncoder } from './pipeline-text.js';

/** Shared checks of the per-mode pipeline tests (fake networks, tiny tokenizer). */

export const facts = tinyFacts();
export const pipelines = createPipelines(facts);
export const text = tinyPromptEncoder();

export async function runWithFakes(spec: JobSpec, input: PipelineInput, signal?: AbortSignal) {
  const nets = fakeNetworks(facts.latentChannels);
  const progress: JobProgress[] = [];
  const result: PipelineResult = await pipelines.runPipeline(spec, input, nets, text, {
    signal,
    onProgress: (p) => progress.push(p),
  });
  return { nets, progress, result };
}

/** Every step reports progress, in order. */
export function expectStepProgress(progress: JobProgress[], steps: number): void {
  expect(progress.filter((p) => p.stage === 'sampling').map((p) => [p.step, p.totalSteps])).toEqual(
    Array.from({ length: steps + 1 }, (_, i) => [i, steps]),
  );
  // never backwards: the stages after sampling keep its count
  const after = progress.slice(progress.findLastIndex((p) => p.stage === 'sampling') + 1);
  for (const p of after) expect([p.stage, p.step, p.totalSteps]).toEqual([p.stage, steps, steps]);
  for (let i = 1; i < progress.length; i++) expect(progress[i].step).toBeGreaterThanOrEqual(progress[i - 1].step);
}

/** Same seed ⇒ identical output; another seed ⇒ different output. */
export async function expectSeedDeterminism(spec: JobSpec, input: PipelineInput): Promise<void> {
  const a = await runWithFakes(spec, input);
  const b = await runWithFakes(spec, input);
  const c = await runWithFakes({ ...spec, seed: spec.seed + 1 }, input);
  expect(b.result.frames.data).toEqual(a.result.frames.data);
  expect(b.result.actions).toEqual(a.result.actions);
  const differs = a.result.actions
    ? JSON.stringify(a.result.actions) !== JSON.stringify(c.result.actions)
    : !a.result.frames.data.every((v, i) => v === c.result.frames.data[i]);
  expect(differs).toBe(true);
}

/** Aborting after step 1 stops before step 2 with an AbortError; nothing more reaches the denoiser. */
export async function expectCancellation(spec: JobSpec, input: PipelineInput, passesPerStep: number): Promise<void> {
  const controller = new AbortController();
  const nets = fakeNetworks(facts.latentChannels);
  const run = pipelines.runPipeline(spec, input, nets, text, {
    signal: controller.signal,
    onProgress: (p) => {
      if (p.stage === 'sampling' && p.step === 1) controller.abort();
    },
  });
  const err = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isAbortError(err)).toBe(true);
  expect(nets.denoiser.calls).toHaveLength(passesPerStep);
  expect(nets.vae.decoded).toHaveLength(0);
}
