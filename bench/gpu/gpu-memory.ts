import { spawn, type ChildProcess } from 'node:child_process';

/** Samples the GPU's used memory with nvidia-smi every 100 ms; `peak()` since the last `reset()`. */
export class GpuMemorySampler {
  #child: ChildProcess | null = null;
  #peakMiB = 0;
  #lastMiB = 0;
  readonly available: boolean;

  constructor(gpu = 0) {
    let ok = true;
    try {
      this.#child = spawn('nvidia-smi', ['-i', String(gpu), '--query-gpu=memory.used', '--format=csv,noheader,nounits', '-lms', '100'], { stdio: ['ignore', 'pipe', 'ignore'] });
      this.#child.on('error', () => (ok = false));
      this.#child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        for (const line of chunk.split('\n')) {
          const v = Number(line.trim());
          if (line.trim() && Number.isFinite(v)) {
            this.#lastMiB = v;
            if (v > this.#peakMiB) this.#peakMiB = v;
          }
        }
      });
    } catch {
      ok = false;
    }
    this.available = ok;
  }

  reset(): void {
    this.#peakMiB = this.#lastMiB;
  }

  peakGB(): number {
    return this.#peakMiB / 1024;
  }

  currentGB(): number {
    return this.#lastMiB / 1024;
  }

  stop(): void {
    this.#child?.kill();
  }
}
