export * from './safetensors/index.js';
export * from './onnx/index.js';
export * from './model-config.js';
export * from './weights.js';
export * from './manifest.js';
export * from './convert.js';
export {
  buildTransformerGraph, DEFAULT_TRANSFORMER_GRAPH_OPTIONS, transformerWeightSpecs, TRANSFORMER_OPSETS,
  type TransformerGraphOptions, type TransformerVariant,
} from './graphs/transformer.js';
export { buildVaeDecoderGraph, buildVaeEncoderGraph, buildVaeGraph, vaeComponent, vaeDims, vaeWeightSpecs, VAE_GRAPHS, VAE_OPSETS, type ChunkMode, type VaeDims, type VaeGraphName } from './graphs/vae.js';
export { buildTransformerGenGraph, buildTransformerGenMergedGraph, buildTransformerTextGraph } from './graphs/transformer.js';
