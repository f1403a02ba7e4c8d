import { InputUnreadableError, InvalidFieldError, withField } from '../shared/index.js';

export interface ParseActionsOptions {
  /** Required row width D (the domain's raw action dim); checked when given. */
  readonly width?: number;
  /** Most rows accepted (bounds memory); default 100,000. */
  readonly maxRows?: number;
}

const DEFAULT_MAX_ROWS = 100_000;
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Parse an action file: JSON, a plain 2-D array [T][D] of finite numbers (in float32's range), T ≥ 1, D ≥ 1,
 * every row the same width. This is exactly what cosmos-framework accepts (`torch.tensor(json.loads(text))`, then the last dim must
 * equal the domain's raw action dim); objects such as {"action": ...} are not accepted there, so not here either.
 * Not JSON → InputUnreadableError; wrong shape or values → InvalidFieldError; both name `field` (400).
 */
export function parseActions(input: Uint8Array | string, field: string, options: ParseActionsOptions = {}): number[][] {
  const text = typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: false }).decode(input);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw withField(new InputUnreadableError(field, 'action file is not valid JSON', { cause: err }), field);
  }
  const invalid = (rule: string): Error => withField(new InvalidFieldError(field, `action file ${rule}`), field);

  if (!Array.isArray(value)) throw invalid('must be a JSON array of rows [T][D]');
  if (value.length === 0) throw invalid('must have at least one row');
  const maxRows = options.maxRows ?? DEFAULT_MAX_ROWS;
  if (value.length > maxRows) throw invalid(`has ${value.length} rows, more than the limit of ${maxRows}`);
  const first: unknown = value[0];
  if (!Array.isArray(first)) throw invalid('must be a 2-D array [T][D]: row 0 is not an array');
  const width = first.length;
  if (width === 0) throw invalid('rows must not be empty');
  if (options.width !== undefined && width !== options.width) {
    throw invalid(`rows have ${width} values, the domain needs ${options.width}`);
  }
  const rows: number[][] = new Array<number[]>(value.length);
  for (let t = 0; t < value.length; t++) {
    const row: unknown = value[t];
    if (!Array.isArray(row)) throw invalid(`must be a 2-D array [T][D]: row ${t} is not an array`);
    if (row.length !== width) throw invalid(`rows must all have ${width} values: row ${t} has ${row.length}`);
    for (let d = 0; d < width; d++) {
      const x: unknown = row[d];
      if (typeof x !== 'number' || !Number.isFinite(x)) {
        throw invalid(`values must be finite numbers: [${t}][${d}] is ${describe(x)}`);
      }
      if (!Number.isFinite(Math.fround(x))) {
        // the model reads float32: 1e300 would become Infinity there, and NaN frames or actions come out
        throw invalid(`values must fit in float32 (|x| ≤ ${FLOAT32_MAX}): [${t}][${d}] is ${x}`);
      }
    }
    rows[t] = row as number[];
  }
  return rows;
}

function describe(x: unknown): string {
  if (typeof x === 'number') return String(x); // Infinity from an overflowing literal like 1e999
  if (x === null) return 'null';
  return Array.isArray(x) ? 'an array' : typeof x;
}
