import { describe, expect, it } from 'vitest';
import { tinyFacts } from '../support/pipeline-setup.js';

describe('modelFactsFromConfigs', () => {
  it('reads the tiny model facts from its configs', () => {
    const f = tinyFacts();
    expect(f).toMatchObject({ latentChannels: 48, actionDim: 16, vaeTemporalFactor: 4, vaeSpatialFactor: 16, patchSize: 2 });
    expect(f.mrope).toEqual({ baseFps: 24, margin: 15000, temporalFactor: 4, soundLatentFps: 25 });
    expect(f.schedule).toEqual({ numTrainTimesteps: 1000, native: false, solver: { order: 2, lowerOrderFinal: true } });
  });
});
