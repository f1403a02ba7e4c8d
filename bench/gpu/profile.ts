import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/** One op type's share of a run. */
export interface OpTime {
  readonly op: string;
  readonly nodes: number;
  readonly ms: number;
}

/** One `session.run` of an ONNX Runtime profile. */
export interface ProfiledRun {
  readonly ms: number;
  /**
   * Node executions and their summed time (host-side time on the CUDA EP, whose kernels run asynchronously);
   * Loop/If/Scan are left out, their bodies' nodes are counted.
   */
  readonly nodes: number;
  readonly nodeMs: number;
  /** Op types by summed time, largest first. */
  readonly byOp: readonly OpTime[];
}

interface ProfileEvent {
  readonly cat?: string;
  readonly name?: string;
  readonly ts?: number;
  readonly dur?: number;
  readonly args?: { readonly op_name?: string };
}

const CONTROL_FLOW = new Set(['Loop', 'If', 'Scan']);

/** The newest ORT profile file `<prefix>_*.json` in the prefix's folder. */
export async function findProfile(prefix: string): Promise<string> {
  const dir = path.dirname(prefix);
  const base = path.basename(prefix);
  const files = (await readdir(dir)).filter((f) => f.startsWith(`${base}_`) && f.endsWith('.json')).sort();
  if (files.length === 0) throw new Error(`no ONNX Runtime profile ${prefix}_*.json`);
  return path.join(dir, files[files.length - 1]);
}

/** Per-run, per-op-type times of an ONNX Runtime profile (chrome-trace JSON), in run order. */
export async function profiledRuns(file: string): Promise<ProfiledRun[]> {
  const events = JSON.parse(await readFile(file, 'utf8')) as ProfileEvent[];
  const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').sort((a, b) => (a.ts ?? 0) - (b.ts ?? 0));
  // control-flow nodes' time is their bodies' nodes, which the profile lists themselves
  const nodes = events.filter((e) => e.cat === 'Node' && e.name?.endsWith('_kernel_time') && !CONTROL_FLOW.has(e.args?.op_name ?? ''));
  return runs.map((r) => {
    const start = r.ts ?? 0;
    const end = start + (r.dur ?? 0);
    const ops = new Map<string, { nodes: number; us: number }>();
    let count = 0;
    let us = 0;
    for (const e of nodes) {
      if ((e.ts ?? -1) < start || (e.ts ?? 0) > end) continue;
      const op = e.args?.op_name ?? '?';
      const o = ops.get(op) ?? { nodes: 0, us: 0 };
      o.nodes++;
      o.us += e.dur ?? 0;
      ops.set(op, o);
      count++;
      us += e.dur ?? 0;
    }
    const byOp = [...ops].map(([op, o]) => ({ op, nodes: o.nodes, ms: o.us / 1000 })).sort((a, b) => b.ms - a.ms);
    return { ms: (r.dur ?? 0) / 1000, nodes: count, nodeMs: us / 1000, byOp };
  });
}

/** The mean of several runs of the same shape. */
export function meanRun(runs: readonly ProfiledRun[]): ProfiledRun {
  const n = runs.length;
  const ops = new Map<string, { nodes: number; ms: number }>();
  for (const r of runs) {
    for (const o of r.byOp) {
      const a = ops.get(o.op) ?? { nodes: 0, ms: 0 };
      a.nodes += o.nodes / n;
      a.ms += o.ms / n;
      ops.set(o.op, a);
    }
  }
  const sum = (f: (r: ProfiledRun) => number) => runs.reduce((a, r) => a + f(r), 0) / n;
  return {
    ms: sum((r) => r.ms), nodes: sum((r) => r.nodes), nodeMs: sum((r) => r.nodeMs),
    byOp: [...ops].map(([op, o]) => ({ op, ...o })).sort((a, b) => b.ms - a.ms),
  };
}

/** A run's totals and its ten costliest op types, rounded for printing. */
export function profileSummary(p: ProfiledRun): { runMs: number; nodes: number; nodeMs: number; byOp: OpTime[] } {
  return {
    runMs: +p.ms.toFixed(1),
    nodes: Math.round(p.nodes),
    nodeMs: +p.nodeMs.toFixed(1),
    byOp: p.byOp.slice(0, 10).map((o) => ({ op: o.op, nodes: +o.nodes.toFixed(1), ms: +o.ms.toFixed(2) })),
  };
}
