/**
 * `npm run bench`: every CPU benchmark, one after the other, each in its own process (peak-memory numbers
 * stay per benchmark). Each prints JSON lines with device, versions, shapes and medians. The convert memory
 * benchmark writes ~8 GB of synthetic checkpoints and runs separately (`npm run bench:convert`); the GPU one
 * needs a GPU host (`npm run bench:gpu`).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const BENCHES: [string, string[]][] = [
  ['pipeline-stages.js', []],
  ['sampler-host.js', []],
  ['encode-mp4.js', []],
  ['vae-memory.js', []],
  ['http-roundtrip.js', []],
  // the GPU bench's comparisons (fused vs elementwise graph, split vs single text tower) at mid width on the CPU
  ['gpu/run.js', ['--size', 'mid', '--phases', 'forward,t2i,profile', '--runs', '3']],
];

let failed = 0;
for (const [file, args] of BENCHES) {
  process.stdout.write(`# ${file} ${args.join(' ')}\n`);
  const r = spawnSync(process.execPath, [path.join(here, file), ...args], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    process.stdout.write(`# ${file} failed (exit ${r.status})\n`);
  }
}
process.exit(failed === 0 ? 0 : 1);
