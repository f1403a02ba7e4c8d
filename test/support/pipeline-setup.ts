import { modelFactsFromConfigs, type ModelConfigs, type ModelFacts } from '../../src/pipeline/index.js';
import type { JobSpec } from '../../src/shared/index.js';
import { readTinyJson } from './pipeline-fixtures.js';

/** Model facts of the tiny fixture model, read from its configs as the engine would. */
export function tinyFacts(): ModelFacts {
  return modelFactsFromConfigs({
    transformer: readTinyJson<ModelConfigs['transformer']>('transformer/config.json'),
    vae: readTinyJson<ModelConfigs['vae']>('vae/config.json'),
    scheduler: readTinyJson<ModelConfigs['scheduler']>('scheduler/scheduler_config.json'),
    modelIndex: readTinyJson<ModelConfigs['modelIndex']>('model_index.json'),
  });
}

/** A resolved JobSpec with small sizes; override what a test needs. */
export function smallSpec(overrides: Partial<JobSpec> = {}): JobSpec {
  return {
    mode: 'text2video',
    prompt: 'A robot arm stacks two red cubes on a wooden table.',
    negativePrompt: '',
    resolution: '256',
    aspectRatio: '4,3',
    width: 96,
    height: 64,
    numFrames: 9,
    fps: 24,
    seed: 42,
    numSteps: 3,
    guidance: 4,
    shift: 10,
    ...overrides,
  };
}

export function solidFrames(frames: number, height: number, width: number, seed = 1) {
  const data = new Uint8Array(frames * height * width * 3);
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    data[i] = s % 256;
  }
  return { data, frames, height, width };
}
