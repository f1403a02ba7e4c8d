import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CUDA_REQUIRED_LIBRARIES, checkCudaProvisioning, describeDevices, inspectCudaProvisioning, loadLibrariesInChild, parseLdconfigCache, runLdconfig,
  type CudaCheckFs, type CudaCheckOptions,
} from '../../../src/engine/ort/index.js';
import { CudaProvisioningError } from '../../../src/shared/index.js';

// Every system interaction of the start-up check is faked here: a file system in a Map, the environment and the
// `ldconfig -p` text. No GPU, no CUDA, no provisioning needed.

const ORT = '/app/node_modules/onnxruntime-node';
const BIN = `${ORT}/bin/napi-v6/linux/x64`;
const RECORD = '/app/native/cuda-ep.json';
const CUDA_LIB = '/usr/local/cuda-13.0/targets/x86_64-linux/lib';

type Files = Map<string, Buffer>;

function fakeFs(files: Files): CudaCheckFs {
  return {
    fileSize: (p) => files.get(p)?.length,
    readFile(p) {
      const b = files.get(p);
      if (!b) throw new Error(`ENOENT: ${p}`);
      return b;
    },
    readdir(p) {
      const prefix = p.endsWith('/') ? p : `${p}/`;
      return [...new Set([...files.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length).split('/')[0]))];
    },
  };
}

const record = (over: Record<string, unknown> = {}): Buffer => Buffer.from(JSON.stringify({
  schema: 1, ortVersion: '1.29.0', onnxruntimeNode: '1.29.0',
  package: { name: 'com.github.asus4.onnxruntime.linux-x64-gpu', version: '0.4.9' },
  files: [{ name: 'libonnxruntime_providers_cuda.so', size: 100, sha256: 'a' }, { name: 'libonnxruntime_providers_shared.so', size: 10, sha256: 'b' }],
  ...over,
}));

/** A host where everything is in place: libraries reachable through the cache, a default dir and LD_LIBRARY_PATH. */
function goodHost(): { files: Files; opts: CudaCheckOptions; ldconfigText: string } {
  const files: Files = new Map([
    [`${ORT}/package.json`, Buffer.from(JSON.stringify({ name: 'onnxruntime-node', version: '1.29.0' }))],
    [`${BIN}/libonnxruntime.so.1`, Buffer.from('\x7fELF\0libonnxruntime.so.1\0VERS_1.29.0\0GLIBC_2.3\0')],
    [`${BIN}/libonnxruntime_providers_cuda.so`, Buffer.alloc(100)],
    [`${BIN}/libonnxruntime_providers_shared.so`, Buffer.alloc(10)],
    [RECORD, record()],
    [`${CUDA_LIB}/libcudart.so.13`, Buffer.from('so')],
    [`${CUDA_LIB}/libcublas.so.13`, Buffer.from('so')],
    [`${CUDA_LIB}/libcublasLt.so.13`, Buffer.from('so')],
    [`${CUDA_LIB}/libcurand.so.10`, Buffer.from('so')],
    ['/usr/lib/x86_64-linux-gnu/libcudnn.so.9', Buffer.from('so')],
    ['/usr/local/nvidia/lib64/libcuda.so.1', Buffer.from('so')],
  ]);
  const ldconfigText = [
    '1234 libs found in cache `/etc/ld.so.cache\'',
    `\tlibcudart.so.13 (libc6,x86-64) => ${CUDA_LIB}/libcudart.so.13`,
    `\tlibcublas.so.13 (libc6,x86-64) => ${CUDA_LIB}/libcublas.so.13`,
    `\tlibcublasLt.so.13 (libc6,x86-64) => ${CUDA_LIB}/libcublasLt.so.13`,
    `\tlibcurand.so.10 (libc6,x86-64) => ${CUDA_LIB}/libcurand.so.10`,
    '\tlibc.so.6 (libc6,x86-64, OS ABI: Linux 3.2.0) => /lib/x86_64-linux-gnu/libc.so.6',
    '',
  ].join('\n');
  const opts: CudaCheckOptions = {
    devices: ['cuda:0'],
    ortPackageDir: ORT,
    recordFile: RECORD,
    env: { LD_LIBRARY_PATH: '/usr/local/nvidia/lib:/usr/local/nvidia/lib64' },
    fs: fakeFs(files),
    ldconfig: () => ldconfigText,
    loadLibraries: () => ({ errors: new Map() }),
    cudaDirs: [`/usr/local/cuda-13.0/lib64`, CUDA_LIB],
    platform: 'linux',
    arch: 'x64',
  };
  return { files, opts, ldconfigText };
}

/** The error's message for a host changed by `mutate`. */
function failure(mutate: (h: ReturnType<typeof goodHost>) => Partial<CudaCheckOptions> | void): Error & { code: string; statusCode: number } {
  const h = goodHost();
  const over = mutate(h) ?? {};
  try {
    checkCudaProvisioning({ ...h.opts, ...over });
  } catch (err) {
    expect(err).toBeInstanceOf(CudaProvisioningError);
    return err as Error & { code: string; statusCode: number };
  }
  throw new Error('expected the check to fail');
}

describe('describeDevices', () => {
  it('needs the CUDA check only when a cuda:<n> device is configured', () => {
    expect(describeDevices(['cpu'])).toEqual({ cpu: true, cudaDeviceIds: [], needsCudaCheck: false });
    expect(describeDevices(['cuda:0', 'cuda:3'])).toEqual({ cpu: false, cudaDeviceIds: [0, 3], needsCudaCheck: true });
    expect(describeDevices(['cpu', 'cuda:1']).needsCudaCheck).toBe(true);
    expect(() => describeDevices(['gpu0'])).toThrow(RangeError);
    expect(() => describeDevices(['cuda:'])).toThrow("device 'cuda:' is not 'cpu' or 'cuda:<n>'");
  });
});

describe('checkCudaProvisioning', () => {
  it('DEVICES=cpu skips everything: no file, environment or ldconfig is consulted', () => {
    const touch = (): never => {
      throw new Error('must not be called');
    };
    const result = checkCudaProvisioning({
      devices: ['cpu'],
      fs: { fileSize: touch, readFile: touch, readdir: touch },
      ldconfig: touch,
      platform: 'darwin',
      arch: 'arm64',
    });
    expect(result).toEqual({ needed: false, devices: { cpu: true, cudaDeviceIds: [], needsCudaCheck: false } });
  });

  it('passes on a provisioned host and says where each library comes from', () => {
    const result = checkCudaProvisioning(goodHost().opts);
    expect(result).toMatchObject({
      needed: true, ortVersion: '1.29.0', bindingDir: BIN, recordFile: RECORD,
      providerPackage: 'com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9',
    });
    if (!result.needed) throw new Error('unreachable');
    expect(result.libraries).toEqual([
      { soname: 'libcudart.so.13', path: `${CUDA_LIB}/libcudart.so.13`, source: 'ld.so.cache' },
      { soname: 'libcublas.so.13', path: `${CUDA_LIB}/libcublas.so.13`, source: 'ld.so.cache' },
      { soname: 'libcublasLt.so.13', path: `${CUDA_LIB}/libcublasLt.so.13`, source: 'ld.so.cache' },
      { soname: 'libcurand.so.10', path: `${CUDA_LIB}/libcurand.so.10`, source: 'ld.so.cache' },
      { soname: 'libcudnn.so.9', path: '/usr/lib/x86_64-linux-gnu/libcudnn.so.9', source: 'loader default' },
      { soname: 'libcuda.so.1', path: '/usr/local/nvidia/lib64/libcuda.so.1', source: 'LD_LIBRARY_PATH' },
    ]);
  });

  it('fails with C3S_ERR_CUDA_PROVISIONING, status 500, naming the devices', () => {
    const err = failure(({ files }) => void files.delete(`${BIN}/libonnxruntime_providers_cuda.so`));
    expect(err.code).toBe('C3S_ERR_CUDA_PROVISIONING');
    expect(err.statusCode).toBe(500);
    expect(err.message).toMatch(/^the CUDA execution provider for DEVICES=cuda:0 cannot start:\n {2}- /);
  });

  it('provider libraries absent next to the binding → npm run provision:cuda', () => {
    const err = failure(({ files }) => {
      files.delete(`${BIN}/libonnxruntime_providers_cuda.so`);
      files.delete(`${BIN}/libonnxruntime_providers_shared.so`);
    });
    expect(err.message).toContain(`the ONNX Runtime CUDA provider libraries are not installed next to the binding: `
      + `libonnxruntime_providers_cuda.so, libonnxruntime_providers_shared.so missing in ${BIN}.`);
    expect(err.message).toContain('Fix: run `npm run provision:cuda` (offline: `npm run provision:cuda -- --from <package .tgz>`), or run on the CPU with DEVICES=cpu.');
    const one = failure(({ files }) => void files.delete(`${BIN}/libonnxruntime_providers_shared.so`));
    expect(one.message).toContain(`: libonnxruntime_providers_shared.so missing in ${BIN}`);
  });

  it('record missing or unreadable → npm run provision:cuda', () => {
    const missing = failure(({ files }) => void files.delete(RECORD));
    expect(missing.message).toContain(`the CUDA provider record ${RECORD} is missing, so the provider libraries' ORT version is unknown.`);
    expect(missing.message).toContain('Fix: run `npm run provision:cuda`');
    const garbage = failure(({ files }) => void files.set(RECORD, Buffer.from('{not json')));
    expect(garbage.message).toContain(`${RECORD} is not readable JSON`);
    const wrong = failure(({ files }) => void files.set(RECORD, Buffer.from('{"hello":1}')));
    expect(wrong.message).toContain(`${RECORD} does not look like a provisioning record`);
  });

  it.each([
    ['onnxruntime-node package.json', (f: Files) => void f.set(`${ORT}/package.json`, Buffer.from('{"version":"1.30.0"}')),
      `onnxruntime-node package.json 1.30.0, ${BIN}/libonnxruntime.so.1 1.29.0, CUDA provider libraries 1.29.0`],
    ['libonnxruntime.so.1', (f: Files) => void f.set(`${BIN}/libonnxruntime.so.1`, Buffer.from('\x7fELF VERS_1.28.1\0')),
      `onnxruntime-node package.json 1.29.0, ${BIN}/libonnxruntime.so.1 1.28.1, CUDA provider libraries 1.29.0`],
    ['libonnxruntime.so.1 without a marker', (f: Files) => void f.set(`${BIN}/libonnxruntime.so.1`, Buffer.from('\x7fELF')),
      `${BIN}/libonnxruntime.so.1 unknown (no VERS_ marker)`],
    ['the provider record', (f: Files) => void f.set(RECORD, record({ ortVersion: '1.28.0' })),
      'onnxruntime-node package.json 1.29.0, /app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1 1.29.0, CUDA provider libraries 1.28.0'],
  ])('ORT version mismatch in %s → reinstall matching versions', (_where, mutate, detail) => {
    const err = failure(({ files }) => mutate(files));
    expect(err.message).toContain('ONNX Runtime versions do not match: ');
    expect(err.message).toContain(detail);
    expect(err.message).toContain('(com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9, per /app/native/cuda-ep.json); they must be the same release.');
    expect(err.message).toContain('Fix: reinstall matching versions: `rm -rf node_modules && npm ci` (onnxruntime-node as pinned in package.json), then `npm run provision:cuda -- --force`');
  });

  it('a provider file replaced after provisioning → provision again with --force', () => {
    const err = failure(({ files }) => void files.set(`${BIN}/libonnxruntime_providers_cuda.so`, Buffer.alloc(99)));
    expect(err.message).toContain(`${BIN}/libonnxruntime_providers_cuda.so is 99 bytes but was 100 when provisioned (replaced since).`);
    expect(err.message).toContain('Fix: run `npm run provision:cuda -- --force`.');
  });

  it('onnxruntime-node or its core library missing → npm ci', () => {
    const noOrt = failure(({ files }) => void files.delete(`${ORT}/package.json`));
    expect(noOrt.message).toContain('onnxruntime-node is not installed.\n    Fix: run `npm ci`.');
    const noCore = failure(({ files }) => void files.delete(`${BIN}/libonnxruntime.so.1`));
    expect(noCore.message).toContain(`onnxruntime-node's core library ${BIN}/libonnxruntime.so.1 is missing.`);
    expect(noCore.message).toContain('Fix: reinstall onnxruntime-node: `rm -rf node_modules && npm ci`.');
  });

  it('another platform → linux-x64 or DEVICES=cpu', () => {
    const err = failure(() => ({ platform: 'darwin', arch: 'arm64' }));
    expect(err.message).toContain('the CUDA provider libraries exist for linux-x64 only, this host is darwin-arm64.');
    expect(err.message).toContain('Fix: run on a linux-x64 host with an NVIDIA GPU, or run on the CPU with DEVICES=cpu.');
  });

  it.each(CUDA_REQUIRED_LIBRARIES.map((l) => [l.soname, l] as const))('%s missing → names it and the fix', (soname, lib) => {
    const err = failure(({ files }) => {
      for (const k of [...files.keys()]) if (k.endsWith(`/${soname}`)) files.delete(k);
    });
    expect(err.message).toContain(`  - ${soname} (${lib.what}) cannot be found; searched LD_LIBRARY_PATH (/usr/local/nvidia/lib:/usr/local/nvidia/lib64); `
      + `the ld.so cache; /lib/x86_64-linux-gnu, /usr/lib/x86_64-linux-gnu, /lib64, /usr/lib64, /lib, /usr/lib; /usr/local/cuda-13.0/lib64, ${CUDA_LIB}.`);
    expect(err.message).toContain(`Fix: ${lib.fix}.`);
    // exactly one problem: the rest of the host is fine
    expect(err.message.match(/\n {2}- /g)).toHaveLength(1);
  });

  it('the fixes name the right remedy for each kind of library', () => {
    const fix = (s: string): string => CUDA_REQUIRED_LIBRARIES.find((l) => l.soname === s)!.fix;
    expect(fix('libcudart.so.13')).toContain('nvidia/cuda:13.0.x-cudnn-runtime-ubuntu24.04');
    expect(fix('libcublasLt.so.13')).toContain('LD_LIBRARY_PATH');
    expect(fix('libcudnn.so.9')).toContain('libcudnn9-cuda-13');
    expect(fix('libcuda.so.1')).toContain('--gpus all');
  });

  it('a library only in a CUDA folder the loader does not search → the LD_LIBRARY_PATH to set', () => {
    const err = failure(() => ({ ldconfig: () => '' }));
    for (const s of ['libcudart.so.13', 'libcublas.so.13', 'libcublasLt.so.13', 'libcurand.so.10']) {
      expect(err.message).toContain(`  - ${s} (`);
    }
    expect(err.message).toContain(`libcudart.so.13 (CUDA 13 runtime) is at ${CUDA_LIB}/libcudart.so.13 but the dynamic loader does not look there.`);
    expect(err.message).toContain(`Fix: add it to the loader path: \`export LD_LIBRARY_PATH=${CUDA_LIB}\${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}\` `
      + `(or list ${CUDA_LIB} in /etc/ld.so.conf.d/ and run ldconfig).`);
    // found through LD_LIBRARY_PATH instead: fine
    const { files, opts } = goodHost();
    expect(() => checkCudaProvisioning({ ...opts, ldconfig: () => '', env: { LD_LIBRARY_PATH: `/usr/local/nvidia/lib64::${CUDA_LIB}` }, fs: fakeFs(files) })).not.toThrow();
  });

  it('finds the CUDA folders under /usr/local by itself (CUDA 13 puts libraries in lib/)', () => {
    const err = failure(({ files, ldconfigText }) => {
      files.delete(`${CUDA_LIB}/libcudart.so.13`);
      files.set('/usr/local/cuda-13.0/lib/libcudart.so.13', Buffer.from('so'));
      files.set('/usr/local/share/man', Buffer.from('not cuda'));
      return { cudaDirs: undefined, ldconfig: () => ldconfigText.replace(/.*libcudart.*\n/, '') };
    });
    expect(err.message).toContain('libcudart.so.13 (CUDA 13 runtime) is at /usr/local/cuda-13.0/lib/libcudart.so.13 but the dynamic loader does not look there.');
    expect(err.message.match(/\n {2}- /g)).toHaveLength(1);
  });

  it('says so when ldconfig could not be run, and ignores stale cache entries', () => {
    const err = failure(({ files }) => {
      files.delete('/usr/lib/x86_64-linux-gnu/libcudnn.so.9');
      return { ldconfig: () => '' };
    });
    expect(err.message).toContain('libcudnn.so.9 (cuDNN 9) cannot be found; searched LD_LIBRARY_PATH (/usr/local/nvidia/lib:/usr/local/nvidia/lib64); the ld.so cache (could not run `ldconfig -p`);');
    const stale = failure(({ files, ldconfigText }) => {
      files.delete(`${CUDA_LIB}/libcurand.so.10`);
      return { ldconfig: () => ldconfigText };
    });
    expect(stale.message).toContain('libcurand.so.10 (cuRAND (CUDA 13)) cannot be found');
  });

  it('lists every missing piece in one error, each with its fix', () => {
    const err = failure(({ files }) => {
      files.delete(`${BIN}/libonnxruntime_providers_cuda.so`);
      files.delete('/usr/lib/x86_64-linux-gnu/libcudnn.so.9');
      files.delete('/usr/local/nvidia/lib64/libcuda.so.1');
      return { env: {} };
    });
    const items = err.message.split('\n  - ').slice(1);
    expect(items).toHaveLength(3);
    expect(items[0]).toMatch(/^the ONNX Runtime CUDA provider libraries are not installed[^]*Fix: run `npm run provision:cuda`/);
    expect(items[1]).toMatch(/^libcudnn\.so\.9 \(cuDNN 9\) cannot be found; searched LD_LIBRARY_PATH \(unset\);[^]*Fix: use a cuDNN base image/);
    expect(items[2]).toMatch(/^libcuda\.so\.1 \(NVIDIA driver\) cannot be found[^]*Fix: give the container the GPU/);
    expect((err as unknown as { problems: unknown[] }).problems).toHaveLength(3);
    const { problems } = inspectCudaProvisioning({ ...goodHost().opts, env: {} });
    expect(problems).toEqual([{ piece: expect.stringContaining('libcuda.so.1'), fix: expect.stringContaining('--gpus all') }]);
  });

  it('finds the real onnxruntime-node when not told where it is', () => {
    const { problems } = inspectCudaProvisioning({ devices: ['cuda:0'], ldconfig: () => '', env: {}, platform: 'linux', arch: 'x64' });
    expect(problems.some((p) => p.piece.includes('onnxruntime-node is not installed') || p.piece.includes('core library'))).toBe(false);
  });
});

describe('loading the libraries found', () => {
  it('a library that is found but does not load is named with the loader\'s error and a fix', () => {
    const err = failure(() => ({
      loadLibraries: (paths) => ({ errors: new Map([[paths[4], `${paths[4]}: file too short`]]) }),
    }));
    expect(err.message).toMatch(
      /libcudnn\.so\.9 \(cuDNN 9\) is at \/usr\/lib\/x86_64-linux-gnu\/libcudnn\.so\.9 \(loader default\) but does not load: \S+ file too short\.\n\s+Fix: replace or reinstall it: use a cuDNN base image/,
    );
    expect((err as unknown as { problems: unknown[] }).problems).toHaveLength(1);
  });

  it('a loader process that crashes is reported, not fatal', () => {
    const err = failure(() => ({ loadLibraries: () => ({ errors: new Map(), crashed: 'signal SIGSEGV' }) }));
    expect(err.message).toMatch(/loading the CUDA libraries \([^)]*libcudart\.so\.13[^)]*\) crashed the process that tried \(signal SIGSEGV\)/);
  });

  it('loads in order, in the environment given, each library found', () => {
    const calls: { paths: readonly string[]; ld?: string }[] = [];
    checkCudaProvisioning({ ...goodHost().opts, loadLibraries: (paths, env) => (calls.push({ paths, ld: env.LD_LIBRARY_PATH }), { errors: new Map() }) });
    expect(calls).toEqual([{
      paths: [
        `${CUDA_LIB}/libcudart.so.13`, `${CUDA_LIB}/libcublas.so.13`, `${CUDA_LIB}/libcublasLt.so.13`, `${CUDA_LIB}/libcurand.so.10`,
        '/usr/lib/x86_64-linux-gnu/libcudnn.so.9', '/usr/local/nvidia/lib64/libcuda.so.1',
      ],
      ld: '/usr/local/nvidia/lib:/usr/local/nvidia/lib64',
    }]);
  });

  it('the real loader: a system library loads, a file that is not one does not (files named like the CUDA libraries)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'c3s-cuda-load-'));
    try {
      const libz = ['/lib/x86_64-linux-gnu/libz.so.1', '/usr/lib/x86_64-linux-gnu/libz.so.1', '/lib64/libz.so.1'].find((p) => {
        try {
          return statSync(p).isFile();
        } catch {
          return false;
        }
      });
      for (const lib of CUDA_REQUIRED_LIBRARIES) writeFileSync(join(dir, lib.soname), lib.soname === 'libcudnn.so.9' ? '' : 'not a library');
      const report = loadLibrariesInChild([...(libz ? [libz] : []), join(dir, 'libcudnn.so.9'), join(dir, 'libcuda.so.1')], process.env);
      expect(report.crashed).toBeUndefined();
      expect([...report.errors.keys()]).toEqual([join(dir, 'libcudnn.so.9'), join(dir, 'libcuda.so.1')]);
      expect(report.errors.get(join(dir, 'libcudnn.so.9'))).toMatch(/file too short/);
      // the whole check with real files, LD_LIBRARY_PATH and the real loader: every placeholder is refused
      const { problems } = inspectCudaProvisioning({ ...goodHost().opts, fs: undefined, loadLibraries: undefined, ldconfig: () => '', cudaDirs: [], env: { LD_LIBRARY_PATH: dir } });
      const loadProblems = problems.filter((p) => p.piece.includes('does not load'));
      expect(loadProblems.map((p) => p.piece.split(' ')[0])).toEqual(CUDA_REQUIRED_LIBRARIES.map((l) => l.soname));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the real loader on libraries built here (cc, from .ci/run)', () => {
  /** Builds `name` in `dir` from C source; the C compiler comes with the machine (and .ci/run installs gcc). */
  const build = (dir: string, name: string, source: string): string => {
    const c = join(dir, `${name}.c`);
    writeFileSync(c, source);
    execFileSync('cc', ['-shared', '-fPIC', '-o', join(dir, name), c]);
    return join(dir, name);
  };

  it('binds every symbol at load (RTLD_NOW, as ONNX Runtime loads): a library missing a function is refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'c3s-cuda-now-'));
    try {
      const lib = build(dir, 'libcudart.so.13', 'extern int missing_fn(void);\nint cudaGetDeviceCount(int *n) { *n = missing_fn(); return 0; }\n');
      const report = loadLibrariesInChild([lib], process.env);
      expect(report.crashed).toBeUndefined();
      expect(report.errors.get(lib)).toMatch(/undefined symbol: missing_fn/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a library that prints while it loads still loads, and the report survives its output", () => {
    const dir = mkdtempSync(join(tmpdir(), 'c3s-cuda-print-'));
    try {
      const lib = build(dir, 'libcudnn.so.9', '#include <stdio.h>\n__attribute__((constructor)) static void hello(void) { puts("{ hello from init"); fflush(stdout); }\nint cudnnGetVersion(void) { return 9; }\n');
      expect(loadLibrariesInChild([lib], process.env)).toEqual({ errors: new Map() });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('parseLdconfigCache', () => {
  it('keeps 64-bit x86 entries, all paths per soname', () => {
    const cache = parseLdconfigCache([
      '812 libs found in cache `/etc/ld.so.cache\'',
      '\tlibcudnn.so.9 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libcudnn.so.9',
      '\tlibcudnn.so.9 (libc6,x86-64) => /opt/cudnn/lib/libcudnn.so.9',
      '\tlibz.so.1 (libc6) => /usr/lib32/libz.so.1',
      '\tlibc.so.6 (libc6,x86-64, OS ABI: Linux 3.2.0) => /lib/x86_64-linux-gnu/libc.so.6',
      'Cache generated by: ldconfig (Ubuntu GLIBC 2.39-0ubuntu8) stable release version 2.39',
    ].join('\n'));
    expect([...cache]).toEqual([
      ['libcudnn.so.9', ['/usr/lib/x86_64-linux-gnu/libcudnn.so.9', '/opt/cudnn/lib/libcudnn.so.9']],
      ['libc.so.6', ['/lib/x86_64-linux-gnu/libc.so.6']],
    ]);
  });

  it('the default runner returns text and never throws', () => {
    expect(typeof runLdconfig()).toBe('string');
  });
});
