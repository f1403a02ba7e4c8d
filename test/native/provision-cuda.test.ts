import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LIB_PREFIX, ORT_VERSION, PROVIDER_FILES, PROVIDER_PACKAGE, REQUIRED_LIBRARIES,
} from '../../native/provision-cuda.mjs';
import { CUDA_PROVIDER_FILES, CUDA_REQUIRED_LIBRARIES, checkCudaProvisioning } from '../../src/engine/ort/index.js';
import { tar } from './support/tar-writer.js';

// Runs native/provision-cuda.mjs as `npm run provision:cuda` does, against a small tarball with the real package's
// layout (npm pack com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9: package/package.json, package/README.md,
// package/Plugins/Linux/x64/libonnxruntime_providers_{cuda,shared,tensorrt}.so + Unity .meta files). No network.

const SCRIPT = resolve(import.meta.dirname, '../../native/provision-cuda.mjs');

/** A fake x86-64 ELF whose version string straddles a 16 KiB gunzip chunk boundary. */
function fakeSo(seed: string, size: number, version?: string): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed.charCodeAt(i % seed.length)) & 0x7f | 0x01;
  b.writeUInt32BE(0x7f454c46, 0);
  b[4] = 2;
  b[5] = 1;
  b.writeUInt16LE(62, 18);
  if (version) Buffer.from(`\0${version}\0`, 'latin1').copy(b, 16384 - 3);
  return b;
}

interface Pkg {
  readonly version?: string;
  readonly readmeOrt?: string | null;
  readonly soOrt?: string;
  readonly cudaType?: string;
}

const CUDA_SO = fakeSo('cuda', 100_000, ORT_VERSION);
const SHARED_SO = fakeSo('shared', 700);

function fakePackage({ version = PROVIDER_PACKAGE.version, readmeOrt = ORT_VERSION, soOrt = ORT_VERSION, cudaType = '0' }: Pkg = {}): Buffer {
  const pkg = { name: PROVIDER_PACKAGE.name, version, dependencies: { 'com.github.asus4.onnxruntime': version } };
  const readme = `# ONNX Runtime Plugin for Unity\n\n## Tested environment\n\n${readmeOrt === null ? '' : `- ONNX Runtime: [${readmeOrt}](https://github.com/microsoft/onnxruntime/releases/tag/v${readmeOrt})\n`}`;
  const cuda = soOrt === ORT_VERSION ? CUDA_SO : fakeSo('cuda', 100_000, soOrt);
  const lib = (n: string): string => `${LIB_PREFIX}${n}`;
  return gzipSync(tar([
    { name: 'package/.attestation.p7m', data: Buffer.from('attestation') },
    { name: 'package/LICENSE', data: Buffer.from('MIT') },
    { name: 'package/README.md', data: Buffer.from(readme) },
    { name: 'package/package.json', data: Buffer.from(JSON.stringify(pkg, null, 2)) },
    { name: 'package/Plugins/Linux.meta', data: Buffer.from('meta') },
    cudaType === '0'
      ? { name: lib('libonnxruntime_providers_cuda.so'), data: cuda, mode: 0o755 }
      : { name: lib('libonnxruntime_providers_cuda.so'), type: cudaType, linkname: '/etc/passwd' },
    { name: lib('libonnxruntime_providers_cuda.so.meta'), data: Buffer.from('meta') },
    { name: lib('libonnxruntime_providers_shared.so'), data: SHARED_SO, mode: 0o755 },
    { name: lib('libonnxruntime_providers_shared.so.meta'), data: Buffer.from('meta') },
    { name: lib('libonnxruntime_providers_tensorrt.so'), data: fakeSo('trt', 2000, ORT_VERSION), mode: 0o755 },
  ]));
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

let root: string;
let n = 0;

/** A fresh onnxruntime-node tree: returns its binding dir, the record path and a written tarball. */
function world(pkg: Pkg = {}, ortVersion = ORT_VERSION): { dest: string; record: string; tgz: string; dir: string } {
  const dir = join(root, `w${n++}`);
  const ortDir = join(dir, 'node_modules', 'onnxruntime-node');
  const dest = join(ortDir, 'bin', 'napi-v6', 'linux', 'x64');
  mkdirSync(dest, { recursive: true });
  writeFileSync(join(ortDir, 'package.json'), JSON.stringify({ name: 'onnxruntime-node', version: ortVersion }));
  writeFileSync(join(dest, 'libonnxruntime.so.1'), Buffer.concat([Buffer.from('\x7fELF...'), Buffer.from(`\0VERS_${ortVersion}\0`), Buffer.alloc(64)]));
  const tgz = join(dir, 'provider.tgz');
  writeFileSync(tgz, fakePackage(pkg));
  return { dest, record: join(dir, 'native', 'cuda-ep.json'), tgz, dir };
}

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(process.execPath, [SCRIPT, ...args], { env: { ...process.env, npm_execpath: '', ...env } }, (err, stdout, stderr) => {
      res({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

const args = (w: { dest: string; record: string; tgz: string }, ...extra: string[]): string[] =>
  ['--from', w.tgz, '--dest', w.dest, '--record', w.record, '--no-integrity', ...extra];

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'c3s-provision-test-'));
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('native/provision-cuda.mjs', () => {
  it('installs the two provider libraries next to libonnxruntime.so.1 and writes the record', async () => {
    const w = world();
    const r = await run(args(w));
    expect(r.stderr).toContain('not the pinned tarball');
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(w.dest, 'libonnxruntime_providers_cuda.so')).equals(CUDA_SO)).toBe(true);
    expect(readFileSync(join(w.dest, 'libonnxruntime_providers_shared.so')).equals(SHARED_SO)).toBe(true);
    expect(statSync(join(w.dest, 'libonnxruntime_providers_cuda.so')).mode & 0o777).toBe(0o755);
    // nothing else: no TensorRT provider, no .meta files, no staging folder left behind
    expect(readdirSync(w.dest).sort()).toEqual(['libonnxruntime.so.1', ...PROVIDER_FILES].sort());
    const record = JSON.parse(readFileSync(w.record, 'utf8'));
    expect(record).toMatchObject({
      schema: 1, ortVersion: ORT_VERSION, onnxruntimeNode: ORT_VERSION, cuda: '13', cudnn: '9', bindingDir: w.dest,
      package: { name: PROVIDER_PACKAGE.name, version: PROVIDER_PACKAGE.version },
      files: [
        { name: 'libonnxruntime_providers_cuda.so', size: CUDA_SO.length, sha256: sha256(CUDA_SO) },
        { name: 'libonnxruntime_providers_shared.so', size: SHARED_SO.length, sha256: sha256(SHARED_SO) },
      ],
    });
    expect(record.requiredLibraries).toEqual([...REQUIRED_LIBRARIES]);
  });

  it('is idempotent: a second run changes nothing, --force re-verifies and still changes nothing', async () => {
    const w = world();
    expect((await run(args(w))).code).toBe(0);
    const before = PROVIDER_FILES.map((f) => statSync(join(w.dest, f)).mtimeMs);
    const recordBefore = readFileSync(w.record, 'utf8');
    const again = await run(args(w));
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already provisioned');
    const forced = await run(args(w, '--force'));
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toContain('libonnxruntime_providers_cuda.so unchanged');
    expect(forced.stdout).toContain('unchanged');
    expect(PROVIDER_FILES.map((f) => statSync(join(w.dest, f)).mtimeMs)).toEqual(before);
    expect(readFileSync(w.record, 'utf8')).toBe(recordBefore);
  });

  it('replaces a provider file that was changed after provisioning', async () => {
    const w = world();
    expect((await run(args(w))).code).toBe(0);
    writeFileSync(join(w.dest, 'libonnxruntime_providers_shared.so'), 'tampered');
    const r = await run(args(w));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('installed libonnxruntime_providers_shared.so');
    expect(readFileSync(join(w.dest, 'libonnxruntime_providers_shared.so')).equals(SHARED_SO)).toBe(true);
  });

  it('--dry-run verifies and reports but writes nothing', async () => {
    const w = world();
    const r = await run(args(w, '--dry-run'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`would copy libonnxruntime_providers_cuda.so (${CUDA_SO.length} bytes)`);
    expect(r.stdout).toContain(`would write ${w.record}`);
    expect(readdirSync(w.dest)).toEqual(['libonnxruntime.so.1']);
    expect(existsSync(join(w.dir, 'native'))).toBe(false);
  });

  it('refuses a tarball that is not the pinned one unless --no-integrity', async () => {
    const w = world();
    const r = await run(['--from', w.tgz, '--dest', w.dest, '--record', w.record]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`expected the registry's ${PROVIDER_PACKAGE.integrity}`);
    expect(readdirSync(w.dest)).toEqual(['libonnxruntime.so.1']);
  });

  it.each([
    ['another package version', { version: '0.4.8' }, `is ${PROVIDER_PACKAGE.name}@0.4.8, expected ${PROVIDER_PACKAGE.name}@${PROVIDER_PACKAGE.version}`],
    ['a README stating another ORT', { readmeOrt: '1.28.0' }, "README says it carries ONNX Runtime 1.28.0, expected 1.29.0"],
    ['a provider built from another ORT', { readmeOrt: null, soOrt: '1.28.0' }, 'does not carry the ORT 1.29.0 version string'],
    ['a provider that is a symlink', { cudaType: '2' }, "is not a regular file (tar type '2')"],
  ] as const)('refuses %s and writes nothing', async (_what, pkg, message) => {
    const w = world(pkg);
    const r = await run(args(w));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(message);
    expect(readdirSync(w.dest)).toEqual(['libonnxruntime.so.1']);
    expect(existsSync(w.record)).toBe(false);
  });

  it('refuses when onnxruntime-node is another ORT release', async () => {
    const w = world({}, '1.28.0');
    const r = await run(args(w));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('onnxruntime-node 1.28.0 is installed');
    expect(r.stderr).toContain('install onnxruntime-node@1.29.0');
  });

  it('refuses a --dest outside onnxruntime-node, a missing --from, a truncated or non-gzip tarball and bad flags', async () => {
    const w = world();
    const outside = await run(['--from', w.tgz, '--dest', join(root, 'nowhere'), '--no-integrity']);
    expect(outside.code).toBe(1);
    expect(outside.stderr).toContain('is not inside an onnxruntime-node package');
    const missing = await run(['--from', join(root, 'none.tgz'), '--dest', w.dest, '--record', w.record]);
    expect(missing.stderr).toContain('none.tgz: no such file');
    const truncated = join(root, 'truncated.tgz');
    writeFileSync(truncated, gzipSync(tar([{ name: 'package/package.json', data: Buffer.from('{}') }]).subarray(0, 1024)));
    const cut = await run(['--from', truncated, '--dest', w.dest, '--record', w.record, '--no-integrity']);
    expect(cut.code).toBe(1);
    expect(cut.stderr).toContain('truncated tar archive');
    const notGzip = join(root, 'not-gzip.tgz');
    writeFileSync(notGzip, 'hello');
    const bad = await run(['--from', notGzip, '--dest', w.dest, '--record', w.record, '--no-integrity']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("incorrect header check (not a gzip'd npm tarball, or damaged)");
    const usage = await run(['--frm', 'x']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('Usage:');
  });

  it('leaves a binding that the start-up check accepts', async () => {
    const w = world();
    expect((await run(args(w))).code).toBe(0);
    const libDir = join(w.dir, 'cuda-libs');
    mkdirSync(libDir);
    for (const soname of REQUIRED_LIBRARIES) writeFileSync(join(libDir, soname), 'lib');
    const result = checkCudaProvisioning({
      devices: ['cuda:0'],
      ortPackageDir: join(w.dir, 'node_modules', 'onnxruntime-node'),
      recordFile: w.record,
      env: { LD_LIBRARY_PATH: libDir },
      ldconfig: () => '',
      loadLibraries: () => ({ errors: new Map() }), // placeholder files: loading is the check's own test's concern
      platform: 'linux',
      arch: 'x64',
    });
    expect(result).toMatchObject({ needed: true, ortVersion: ORT_VERSION, bindingDir: w.dest });
  });

  it('without --from, fetches the pinned package with `npm pack`, through the npm that runs it (npm_execpath)', async () => {
    const w = world();
    const log = join(w.dir, 'npm-args.json');
    const fakeNpm = join(w.dir, 'fake-npm-cli.cjs');
    // answers like `npm pack <spec> --pack-destination <dir> --json`: the tarball in <dir>, its name in JSON
    writeFileSync(fakeNpm, [
      "const fs = require('node:fs'); const path = require('node:path');",
      'const a = process.argv.slice(2);',
      `fs.writeFileSync(${JSON.stringify(log)}, JSON.stringify(a));`,
      "const into = a[a.indexOf('--pack-destination') + 1];",
      `fs.copyFileSync(${JSON.stringify(w.tgz)}, path.join(into, 'provider-0.4.9.tgz'));`,
      "process.stdout.write(JSON.stringify([{ filename: 'provider-0.4.9.tgz' }]));",
    ].join('\n'));
    const r = await run(['--dest', w.dest, '--record', w.record, '--no-integrity'], { npm_execpath: fakeNpm });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(log, 'utf8'))).toEqual([
      'pack', `${PROVIDER_PACKAGE.name}@${PROVIDER_PACKAGE.version}`, '--pack-destination', expect.any(String), '--json', '--ignore-scripts',
    ]);
    for (const f of PROVIDER_FILES) expect(statSync(join(w.dest, f)).size).toBeGreaterThan(0);
    // a registry that cannot be reached: the error says so and offers --from
    writeFileSync(fakeNpm, "process.stderr.write('npm error code E404\\n'); process.exit(1);");
    const failed = await run(['--dest', world().dest, '--record', join(w.dir, 'r2.json'), '--no-integrity'], { npm_execpath: fakeNpm });
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toMatch(/`npm pack com\.github\.asus4\.onnxruntime\.linux-x64-gpu@0\.4\.9` failed[^]*E404[^]*--from <tgz>/);
  });

  it('agrees with the start-up check on file and library names', () => {
    expect([...PROVIDER_FILES]).toEqual([...CUDA_PROVIDER_FILES]);
    expect([...REQUIRED_LIBRARIES]).toEqual(CUDA_REQUIRED_LIBRARIES.map((l) => l.soname));
  });
});
