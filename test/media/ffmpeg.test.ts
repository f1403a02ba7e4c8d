import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { runTool } from '../../src/media/index.js';
import { MediaToolError } from '../../src/shared/index.js';
import { processesMatching } from '../support/media-fixtures.js';

// runTool is generic: ffmpeg where it matters, node scripts for precise stdin/stderr behaviour.
const node = process.execPath;

describe('runTool', () => {
  it('collects stdout from ffmpeg', async () => {
    const { stdout } = await runTool({
      binary: 'ffmpeg',
      args: ['-nostdin', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=16x8:rate=5', '-frames:v', '2', '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1'],
      maxStdoutBytes: 2 * 16 * 8 * 3,
    });
    expect(stdout.length).toBe(2 * 16 * 8 * 3);
  });

  it('fails when stdout exceeds the cap, and kills the child', async () => {
    const marker = `cap-${randomUUID()}`;
    const err = await runTool({
      binary: node,
      args: ['-e', `process.stdout.write(Buffer.alloc(1 << 20)); setInterval(() => {}, 1000); // ${marker}`],
      maxStdoutBytes: 1000,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MediaToolError);
    expect((err as Error).message).toMatch(/exceeded the limit of 1000 bytes/);
    expect(await processesMatching(marker)).toEqual([]);
  });

  it('onStdout: chunks handed over one at a time and in order (also after the child exits), none collected', async () => {
    const got: Buffer[] = [];
    let busy = false;
    const { stdout } = await runTool({
      binary: node,
      args: ['-e', 'for (let i = 0; i < 8; i++) process.stdout.write(Buffer.alloc(300000, i));'],
      maxStdoutBytes: 8 * 300000,
      onStdout: async (chunk) => {
        expect(busy).toBe(false);
        busy = true;
        await new Promise((r) => setTimeout(r, 2));
        got.push(chunk);
        busy = false;
      },
    });
    expect(stdout.length).toBe(0);
    const all = Buffer.concat(got);
    expect(all.length).toBe(8 * 300000);
    for (let i = 0; i < 8; i++) expect(all.subarray(i * 300000, (i + 1) * 300000).every((b) => b === i), `block ${i}`).toBe(true);
  });

  it('onStdout: a failing sink kills the child and rejects with its error', async () => {
    const marker = `sink-${randomUUID()}`;
    const err = await runTool({
      binary: node,
      args: ['-e', `setInterval(() => process.stdout.write(Buffer.alloc(1000)), 5); // ${marker}`],
      maxStdoutBytes: 1 << 30,
      onStdout: async () => {
        throw new Error('sink failed');
      },
    }).catch((e: unknown) => e);
    expect((err as Error).message).toBe('sink failed');
    expect(await processesMatching(marker)).toEqual([]);
  });

  it('onStdout: an abort does not wait for a sink that is still working; onStdout needs maxStdoutBytes', async () => {
    const marker = `sinkabort-${randomUUID()}`;
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('cancelled')), 200);
    const t0 = Date.now();
    const err = await runTool({
      binary: node,
      args: ['-e', `setInterval(() => process.stdout.write(Buffer.alloc(1000)), 5); // ${marker}`],
      maxStdoutBytes: 1 << 30,
      onStdout: () => new Promise<void>(() => {}), // never settles
      signal: controller.signal,
    }).catch((e: unknown) => e);
    expect((err as Error).message).toBe('cancelled');
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(await processesMatching(marker)).toEqual([]);
    await expect(runTool({ binary: node, args: ['-e', ''], onStdout: () => {} })).rejects.toThrow(/onStdout needs maxStdoutBytes/);
  });

  it('non-zero exit → MediaToolError with exitCode and a bounded stderr tail', async () => {
    const err = await runTool({
      binary: node,
      args: ['-e', `process.stderr.write('a'.repeat(100000) + 'THE END'); process.exitCode = 3`],
      stderrTailBytes: 512,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MediaToolError);
    expect((err as { exitCode?: number }).exitCode).toBe(3);
    expect((err as Error).message).toMatch(/exited with code 3/);
    expect((err as Error).message).toMatch(/THE END$/);
    expect((err as Error).message.length).toBeLessThan(700);
  });

  it('ffmpeg failing on a missing input reports its stderr', async () => {
    const err = await runTool({ binary: 'ffmpeg', args: ['-nostdin', '-v', 'error', '-i', '/nonexistent/in.mp4', '-f', 'null', '-'] }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MediaToolError);
    expect((err as Error).message).toMatch(/No such file or directory/);
  });

  it('a binary that does not exist → MediaToolError without exitCode', async () => {
    const err = await runTool({ binary: '/nonexistent/ffmpeg', args: [] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MediaToolError);
    expect('exitCode' in (err as object)).toBe(false);
    expect((err as Error).message).toMatch(/not found/);
  });

  it('feeds stdin with backpressure: waits for drain, every byte arrives', async () => {
    const chunk = new Uint8Array(1 << 20).fill(7);
    const chunks = Array.from({ length: 8 }, () => chunk);
    // A slow reader: pauses stdin for 5 ms after every read.
    const script = `let n = 0; process.stdin.on('data', (b) => { n += b.length; process.stdin.pause(); setTimeout(() => process.stdin.resume(), 5); });
      process.stdin.on('end', () => process.stdout.write(String(n)));`;
    const result = await runTool({ binary: node, args: ['-e', script], stdin: chunks, maxStdoutBytes: 64 });
    expect(Number(result.stdout.toString())).toBe(8 << 20);
    expect(result.drainWaits).toBeGreaterThan(0);
  });

  it('abort kills the child, waits for it, and rejects with the reason', async () => {
    const marker = `abort-${randomUUID()}`;
    const controller = new AbortController();
    const reason = new Error('client went away');
    setTimeout(() => controller.abort(reason), 200);
    const started = Date.now();
    const err = await runTool({
      binary: node,
      args: ['-e', `setInterval(() => {}, 1000); // ${marker}`],
      signal: controller.signal,
    }).catch((e: unknown) => e);
    expect(err).toBe(reason);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await processesMatching(marker)).toEqual([]);
  });

  it('abort while blocked on stdin backpressure still ends promptly', async () => {
    const marker = `abort-stdin-${randomUUID()}`;
    const controller = new AbortController();
    function* forever(): Generator<Uint8Array> {
      const chunk = new Uint8Array(1 << 20);
      for (;;) yield chunk;
    }
    setTimeout(() => controller.abort(new Error('stop')), 200);
    // The child never reads stdin, so the feeder blocks on 'drain' until the abort.
    const err = await runTool({
      binary: node,
      args: ['-e', `setInterval(() => {}, 1000); // ${marker}`],
      stdin: forever(),
      signal: controller.signal,
    }).catch((e: unknown) => e);
    expect((err as Error).message).toBe('stop');
    expect(await processesMatching(marker)).toEqual([]);
  });

  it('an already aborted signal rejects without spawning', async () => {
    const controller = new AbortController();
    controller.abort(new Error('early'));
    await expect(runTool({ binary: node, args: ['-e', ''], signal: controller.signal })).rejects.toThrow('early');
  });

  it('a failing stdin source kills the child and surfaces the source error', async () => {
    const marker = `src-${randomUUID()}`;
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(10);
      throw new Error('source broke');
    }
    const err = await runTool({ binary: node, args: ['-e', `setInterval(() => {}, 1000); // ${marker}`], stdin: failing() }).catch(
      (e: unknown) => e,
    );
    expect((err as Error).message).toBe('source broke');
    expect(await processesMatching(marker)).toEqual([]);
  });
});
