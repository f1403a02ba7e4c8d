/** The six request modes of POST /predict. */
export const MODEL_MODES = [
  'text2image',
  'text2video',
  'image2video',
  'forward_dynamics',
  'inverse_dynamics',
  'policy',
] as const;
export type ModelMode = (typeof MODEL_MODES)[number];

export const ACTION_MODES: readonly ModelMode[] = ['forward_dynamics', 'inverse_dynamics', 'policy'];

export function isActionMode(mode: ModelMode): boolean {
  return ACTION_MODES.includes(mode);
}
