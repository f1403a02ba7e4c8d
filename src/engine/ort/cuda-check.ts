import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CudaProvisioningError } from '../../shared/index.js';

/**
 * Start-up check for ONNX Runtime's CUDA execution provider (see docs/decisions/cuda-provisioning.md).
 * onnxruntime-node 1.29.0 ships CPU-only; `npm run provision:cuda` (native/provision-cuda.mjs) puts the ORT 1.29.0
 * CUDA 13 provider libraries next to its libonnxruntime.so.1 and records them in native/cuda-ep.json. ORT only
 * dlopen()s them when a CUDA session is created, and a mismatch then shows up as an obscure native error (or a
 * crash), so the server checks the pieces before it loads anything: the provider files, the ORT version pairing,
 * that the dynamic loader can find the CUDA 13, cuBLAS 13 and cuDNN 9 libraries and the driver, and that each of
 * them loads (dlopen in a child process). Every system interaction (files, environment, `ldconfig -p`, loading) is
 * injectable, so each failure is testable on CPU.
 */

/** The provider files the provisioning script installs next to libonnxruntime.so.1. */
export const CUDA_PROVIDER_FILES = ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so'] as const;

/** A system library the CUDA provider needs at load time, and how to get it. */
export interface RequiredLibrary {
  readonly soname: string;
  readonly what: string;
  readonly fix: string;
}

const CUDA_FIX = 'use a CUDA 13 base image (nvidia/cuda:13.0.x-cudnn-runtime-ubuntu24.04) or install the CUDA 13 '
  + 'runtime libraries (apt: cuda-libraries-13-0), or add the folder that holds it to LD_LIBRARY_PATH';

/**
 * ELF NEEDED of libonnxruntime_providers_cuda.so (ORT 1.29.0, CUDA 13 build) beyond glibc/libstdc++, plus cuDNN,
 * which the provider loads at run time. The major versions are part of the sonames: exact matches only.
 */
export const CUDA_REQUIRED_LIBRARIES: readonly RequiredLibrary[] = [
  { soname: 'libcudart.so.13', what: 'CUDA 13 runtime', fix: CUDA_FIX },
  { soname: 'libcublas.so.13', what: 'cuBLAS 13', fix: CUDA_FIX },
  { soname: 'libcublasLt.so.13', what: 'cuBLASLt 13', fix: CUDA_FIX },
  { soname: 'libcurand.so.10', what: 'cuRAND (CUDA 13)', fix: CUDA_FIX },
  {
    soname: 'libcudnn.so.9',
    what: 'cuDNN 9',
    fix: 'use a cuDNN base image (nvidia/cuda:13.0.x-cudnn-runtime-ubuntu24.04) or install cuDNN 9 for CUDA 13 '
      + '(apt: libcudnn9-cuda-13), or add the folder that holds it to LD_LIBRARY_PATH',
  },
  {
    soname: 'libcuda.so.1',
    what: 'NVIDIA driver',
    fix: 'give the container the GPU (docker run --gpus all, or compose deploy.resources.reservations.devices; needs the '
      + 'NVIDIA Container Toolkit on the host) or install the NVIDIA driver (CUDA 13 needs driver 580 or newer)',
  },
];

/** Folders the dynamic loader searches without configuration (glibc defaults and Debian/Ubuntu multiarch). */
export const LOADER_DEFAULT_DIRS = [
  '/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib64', '/usr/lib64', '/lib', '/usr/lib',
] as const;

/** What the DEVICES setting asks for. */
export interface DeviceSummary {
  readonly cpu: boolean;
  readonly cudaDeviceIds: readonly number[];
  /** True when any device is cuda:<n>: only then is there anything to check. */
  readonly needsCudaCheck: boolean;
}

/** DEVICES entries ('cpu', 'cuda:<n>') → what they need; anything else is a RangeError naming the entry. */
export function describeDevices(devices: readonly string[]): DeviceSummary {
  let cpu = false;
  const cudaDeviceIds: number[] = [];
  for (const d of devices) {
    const m = /^cuda:(\d+)$/.exec(d);
    if (d === 'cpu') cpu = true;
    else if (m) cudaDeviceIds.push(Number(m[1]));
    else throw new RangeError(`describeDevices: device '${d}' is not 'cpu' or 'cuda:<n>'`);
  }
  return { cpu, cudaDeviceIds, needsCudaCheck: cudaDeviceIds.length > 0 };
}

/** The few file-system questions the check asks (injectable for tests). */
export interface CudaCheckFs {
  /** Size of the regular file at `path` (symlinks followed), or undefined when there is none. */
  fileSize(path: string): number | undefined;
  /** Whole contents; throws when unreadable. */
  readFile(path: string): Uint8Array;
  /** Entry names of a folder, [] when it does not exist. */
  readdir(path: string): readonly string[];
}

export interface CudaCheckOptions {
  /** The DEVICES setting; without a cuda:<n> entry nothing is checked. */
  readonly devices: readonly string[];
  /** onnxruntime-node's package folder (default: resolved from this module). */
  readonly ortPackageDir?: string;
  /** The provisioning record (default: native/cuda-ep.json under the cosmos3-serve project root). */
  readonly recordFile?: string;
  /** Environment, for LD_LIBRARY_PATH (default: process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly fs?: CudaCheckFs;
  /** Output of `ldconfig -p`; '' when the cache cannot be read (default: runs ldconfig). */
  readonly ldconfig?: () => string;
  /** Loads the libraries found, in order (default: loadLibrariesInChild). */
  readonly loadLibraries?: (paths: readonly string[], env: Readonly<Record<string, string | undefined>>) => LoadReport;
  /** Where CUDA toolkits usually live, to suggest an LD_LIBRARY_PATH (default: /usr/local/cuda*). */
  readonly cudaDirs?: readonly string[];
  readonly platform?: string;
  readonly arch?: string;
}

/** Where the loader will find a library. */
export interface FoundLibrary {
  readonly soname: string;
  readonly path: string;
  readonly source: 'LD_LIBRARY_PATH' | 'ld.so.cache' | 'loader default';
}

export type CudaCheckResult =
  | { readonly needed: false; readonly devices: DeviceSummary }
  | {
    readonly needed: true;
    readonly devices: DeviceSummary;
    readonly ortVersion: string;
    readonly bindingDir: string;
    readonly recordFile: string;
    readonly providerPackage: string;
    readonly libraries: readonly FoundLibrary[];
  };

/** What loading the libraries found gave: the loader's error for each that did not load. */
export interface LoadReport {
  readonly errors: ReadonlyMap<string, string>;
  /** Set when the process that loaded them died (a library's initialiser crashed), e.g. 'signal SIGSEGV'. */
  readonly crashed?: string;
}

/** One missing piece and its fix (the error's message lists them all). */
export interface CudaProblem {
  readonly piece: string;
  readonly fix: string;
}

const PROVISION = '`npm run provision:cuda` (offline: `npm run provision:cuda -- --from <package .tgz>`)';
const OR_CPU = ', or run on the CPU with DEVICES=cpu';

export const defaultCudaCheckFs: CudaCheckFs = {
  fileSize(path) {
    try {
      const s = statSync(path);
      return s.isFile() ? s.size : undefined;
    } catch {
      return undefined;
    }
  },
  readFile: (path) => readFileSync(path),
  readdir(path) {
    try {
      return readdirSync(path);
    } catch {
      return [];
    }
  },
};

/** Runs `ldconfig -p` (root's sbin may not be on PATH); '' when it is nowhere or fails. */
export function runLdconfig(): string {
  for (const cmd of ['ldconfig', '/sbin/ldconfig', '/usr/sbin/ldconfig']) {
    try {
      return execFileSync(cmd, ['-p'], { encoding: 'utf8', timeout: 5000, maxBuffer: 32 * 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      // try the next location
    }
  }
  return '';
}

// Loads each path with process.dlopen, which hands the file to the system loader (dependencies resolved through
// LD_LIBRARY_PATH and the ld.so cache as for ONNX Runtime's own dlopen) and then looks for a Node.js module
// initialiser: "did not self-register" means the library loaded and simply is not a Node.js addon. RTLD_NOW, as
// ONNX Runtime loads its provider: every symbol is bound at load, so a library missing one fails here, not later.
// The report goes to file descriptor 3: a library's initialiser may print on stdout.
const LOAD_SCRIPT = `
const { constants } = require('node:os');
const out = {};
for (const p of JSON.parse(process.argv[1])) {
  try { process.dlopen({ exports: {} }, p, constants.dlopen.RTLD_NOW); out[p] = null; }
  catch (e) { out[p] = /did not self-register/.test(e.message) ? null : e.message; }
}
require('node:fs').writeSync(3, JSON.stringify(out));
`;

/**
 * dlopen()s the libraries, in order, in a child Node.js process: a library whose initialisers crash must not take
 * the server down before it can say which piece is broken.
 */
export function loadLibrariesInChild(paths: readonly string[], env: Readonly<Record<string, string | undefined>>): LoadReport {
  const r = spawnSync(process.execPath, ['-e', LOAD_SCRIPT, JSON.stringify(paths)], {
    env: env as NodeJS.ProcessEnv, encoding: 'utf8', timeout: 60_000, maxBuffer: 4 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  const stderr = typeof r.stderr === 'string' ? r.stderr.trim().split('\n').slice(-3).join(' ') : '';
  if (r.status !== 0 || r.error) {
    const why = r.error?.message ?? (r.signal ? `signal ${r.signal}` : `exit code ${r.status}`);
    return { errors: new Map(), crashed: `${why}${stderr ? `: ${stderr}` : ''}` };
  }
  let out: Record<string, string | null>;
  try {
    out = JSON.parse(String(r.output[3] ?? '')) as Record<string, string | null>;
  } catch {
    return { errors: new Map(), crashed: `no report from the loading process${stderr ? `: ${stderr}` : ''}` };
  }
  return { errors: new Map(Object.entries(out).filter((e): e is [string, string] => e[1] !== null)) };
}

/** `ldconfig -p` text → soname → paths, 64-bit x86 entries only (lines like `libz.so.1 (libc6,x86-64) => /lib/…`). */
export function parseLdconfigCache(text: string): Map<string, string[]> {
  const cache = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^\s*(\S+)\s+\(([^)]*)\)\s+=>\s+(\S.*?)\s*$/.exec(line);
    if (!m || !m[2].split(',').some((flag) => flag.trim() === 'x86-64')) continue;
    const list = cache.get(m[1]) ?? [];
    list.push(m[3]);
    cache.set(m[1], list);
  }
  return cache;
}

/** The version in `VERS_<x.y.z>`, the symbol version every ORT release stamps on libonnxruntime.so. */
export function ortVersionOfCoreLibrary(bytes: Uint8Array): string | undefined {
  const m = /VERS_(\d+\.\d+\.\d+)/.exec(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1'));
  return m?.[1];
}

/** The nearest folder above `from` whose package.json is cosmos3-serve (works from src/ and dist/). */
function projectRootAbove(from: string): string | undefined {
  for (let dir = dirname(from); ; dir = dirname(dir)) {
    try {
      if ((JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown }).name === 'cosmos3-serve') return dir;
    } catch {
      // none here, or not ours
    }
    if (dirname(dir) === dir) return undefined;
  }
}

function defaultOrtPackageDir(): string | undefined {
  try {
    return dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
  } catch {
    return undefined;
  }
}

function defaultCudaDirs(fs: CudaCheckFs): string[] {
  return fs.readdir('/usr/local')
    .filter((name) => /^cuda(-\d+(\.\d+)?)?$/.test(name))
    .sort()
    .flatMap((name) => ['lib64', 'lib', join('targets', 'x86_64-linux', 'lib')].map((sub) => join('/usr/local', name, sub)));
}

interface ProviderRecord {
  readonly ortVersion: string;
  readonly package?: { readonly name?: string; readonly version?: string };
  readonly files: readonly { readonly name: string; readonly size: number; readonly sha256?: string }[];
}

function readRecord(fs: CudaCheckFs, file: string): ProviderRecord | string {
  if (fs.fileSize(file) === undefined) return 'is missing';
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(fs.readFile(file)).toString('utf8'));
  } catch (err) {
    return `is not readable JSON (${(err as Error).message})`;
  }
  const r = value as Partial<ProviderRecord> | null;
  if (typeof r?.ortVersion !== 'string' || !Array.isArray(r.files)) return 'does not look like a provisioning record';
  return r as ProviderRecord;
}

interface BindingFacts {
  readonly ortVersion: string;
  readonly bindingDir: string;
  readonly providerPackage: string;
}

/** The chain of provisioning facts; stops at the first missing one, since the later ones depend on it. */
function checkBinding(opts: CudaCheckOptions, fs: CudaCheckFs, recordFile: string, problems: CudaProblem[]): BindingFacts | undefined {
  const platform = opts.platform ?? process.platform;
  const arch = opts.arch ?? process.arch;
  if (platform !== 'linux' || arch !== 'x64') {
    problems.push({ piece: `the CUDA provider libraries exist for linux-x64 only, this host is ${platform}-${arch}`, fix: `run on a linux-x64 host with an NVIDIA GPU${OR_CPU}` });
    return undefined;
  }
  const ortDir = opts.ortPackageDir ?? defaultOrtPackageDir();
  const pkgFile = ortDir === undefined ? undefined : join(ortDir, 'package.json');
  if (pkgFile === undefined || fs.fileSize(pkgFile) === undefined) {
    problems.push({ piece: 'onnxruntime-node is not installed', fix: 'run `npm ci`' });
    return undefined;
  }
  let nodeVersion: string;
  try {
    nodeVersion = String((JSON.parse(Buffer.from(fs.readFile(pkgFile)).toString('utf8')) as { version?: unknown }).version);
  } catch (err) {
    problems.push({ piece: `onnxruntime-node's ${pkgFile} is unreadable (${(err as Error).message})`, fix: 'reinstall it: `rm -rf node_modules && npm ci`' });
    return undefined;
  }
  const bindingDir = join(ortDir!, 'bin', 'napi-v6', 'linux', 'x64');
  const core = join(bindingDir, 'libonnxruntime.so.1');
  if (fs.fileSize(core) === undefined) {
    problems.push({ piece: `onnxruntime-node's core library ${core} is missing`, fix: 'reinstall onnxruntime-node: `rm -rf node_modules && npm ci`' });
    return undefined;
  }
  const absent = CUDA_PROVIDER_FILES.filter((name) => fs.fileSize(join(bindingDir, name)) === undefined);
  if (absent.length > 0) {
    problems.push({ piece: `the ONNX Runtime CUDA provider libraries are not installed next to the binding: ${absent.join(', ')} missing in ${bindingDir}`, fix: `run ${PROVISION}${OR_CPU}` });
    return undefined;
  }
  const record = readRecord(fs, recordFile);
  if (typeof record === 'string') {
    problems.push({ piece: `the CUDA provider record ${recordFile} ${record}, so the provider libraries' ORT version is unknown`, fix: `run ${PROVISION}` });
    return undefined;
  }
  const coreVersion = ortVersionOfCoreLibrary(fs.readFile(core)) ?? 'unknown (no VERS_ marker)';
  const providerPackage = `${record.package?.name ?? '?'}@${record.package?.version ?? '?'}`;
  if (nodeVersion !== record.ortVersion || coreVersion !== record.ortVersion) {
    problems.push({
      piece: `ONNX Runtime versions do not match: onnxruntime-node package.json ${nodeVersion}, ${core} ${coreVersion}, `
        + `CUDA provider libraries ${record.ortVersion} (${providerPackage}, per ${recordFile}); they must be the same release`,
      fix: 'reinstall matching versions: `rm -rf node_modules && npm ci` (onnxruntime-node as pinned in package.json), then '
        + '`npm run provision:cuda -- --force`; provision-cuda.mjs pins the provider package that matches it',
    });
    return undefined;
  }
  for (const f of record.files) {
    const size = fs.fileSize(join(bindingDir, f.name));
    if (size !== f.size) {
      problems.push({ piece: `${join(bindingDir, f.name)} is ${size ?? 'absent'} bytes but was ${f.size} when provisioned (replaced since)`, fix: `run \`npm run provision:cuda -- --force\`` });
      return undefined;
    }
  }
  return { ortVersion: record.ortVersion, bindingDir, providerPackage };
}

/** Where the dynamic loader would find each required library; a problem for each it would not. */
function checkLibraries(opts: CudaCheckOptions, fs: CudaCheckFs, problems: CudaProblem[]): FoundLibrary[] {
  const env = opts.env ?? process.env;
  const ldPath = (env.LD_LIBRARY_PATH ?? '').split(/[:;]/).filter((d) => d !== '');
  const cacheText = (opts.ldconfig ?? runLdconfig)();
  const cache = parseLdconfigCache(cacheText);
  const found: FoundLibrary[] = [];
  let cudaDirs: readonly string[] | undefined;
  for (const lib of CUDA_REQUIRED_LIBRARIES) {
    const inDir = (dirs: readonly string[]): string | undefined =>
      dirs.map((d) => join(d, lib.soname)).find((p) => fs.fileSize(p) !== undefined);
    const viaLdPath = inDir(ldPath);
    const viaCache = (cache.get(lib.soname) ?? []).find((p) => fs.fileSize(p) !== undefined);
    const viaDefault = inDir(LOADER_DEFAULT_DIRS);
    if (viaLdPath) found.push({ soname: lib.soname, path: viaLdPath, source: 'LD_LIBRARY_PATH' });
    else if (viaCache) found.push({ soname: lib.soname, path: viaCache, source: 'ld.so.cache' });
    else if (viaDefault) found.push({ soname: lib.soname, path: viaDefault, source: 'loader default' });
    if (viaLdPath ?? viaCache ?? viaDefault) continue;
    cudaDirs ??= opts.cudaDirs ?? defaultCudaDirs(fs);
    const elsewhere = inDir(cudaDirs);
    if (elsewhere) {
      const dir = dirname(elsewhere);
      problems.push({
        piece: `${lib.soname} (${lib.what}) is at ${elsewhere} but the dynamic loader does not look there`,
        fix: `add it to the loader path: \`export LD_LIBRARY_PATH=${dir}\${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}\` `
          + `(or list ${dir} in /etc/ld.so.conf.d/ and run ldconfig)`,
      });
      continue;
    }
    const searched = [
      ldPath.length > 0 ? `LD_LIBRARY_PATH (${ldPath.join(':')})` : 'LD_LIBRARY_PATH (unset)',
      cacheText === '' ? 'the ld.so cache (could not run `ldconfig -p`)' : 'the ld.so cache',
      LOADER_DEFAULT_DIRS.join(', '),
      ...(cudaDirs.length > 0 ? [cudaDirs.join(', ')] : []),
    ];
    problems.push({ piece: `${lib.soname} (${lib.what}) cannot be found; searched ${searched.join('; ')}`, fix: lib.fix });
  }
  if (found.length > 0) {
    const report = (opts.loadLibraries ?? loadLibrariesInChild)(found.map((f) => f.path), env);
    if (report.crashed !== undefined) {
      problems.push({
        piece: `loading the CUDA libraries (${found.map((f) => f.path).join(', ')}) crashed the process that tried (${report.crashed})`,
        fix: 'reinstall the CUDA 13 runtime, cuDNN 9 and the NVIDIA driver (or use the nvidia/cuda:13.0.x-cudnn-runtime-ubuntu24.04 base image)',
      });
    }
    for (const f of found) {
      const error = report.errors.get(f.path);
      if (error === undefined) continue;
      const lib = CUDA_REQUIRED_LIBRARIES.find((l) => l.soname === f.soname)!;
      problems.push({ piece: `${f.soname} (${lib.what}) is at ${f.path} (${f.source}) but does not load: ${error}`, fix: `replace or reinstall it: ${lib.fix}` });
    }
  }
  return found;
}

/**
 * Lists what keeps the CUDA execution provider from loading, without throwing. `needed: false` (and no problems)
 * when DEVICES has no cuda:<n> entry: DEVICES=cpu needs none of this installed.
 */
export function inspectCudaProvisioning(opts: CudaCheckOptions): { result: CudaCheckResult; problems: readonly CudaProblem[] } {
  const devices = describeDevices(opts.devices);
  if (!devices.needsCudaCheck) return { result: { needed: false, devices }, problems: [] };
  const fs = opts.fs ?? defaultCudaCheckFs;
  const recordFile = opts.recordFile
    ?? join(projectRootAbove(fileURLToPath(import.meta.url)) ?? process.cwd(), 'native', 'cuda-ep.json');
  const problems: CudaProblem[] = [];
  const binding = checkBinding(opts, fs, recordFile, problems);
  const libraries = checkLibraries(opts, fs, problems);
  const result: CudaCheckResult = {
    needed: true,
    devices,
    ortVersion: binding?.ortVersion ?? '',
    bindingDir: binding?.bindingDir ?? '',
    recordFile,
    providerPackage: binding?.providerPackage ?? '',
    libraries,
  };
  return { result, problems };
}

/**
 * The start-up check: returns what was found, or throws CudaProvisioningError (C3S_ERR_CUDA_PROVISIONING) whose
 * message lists each missing piece with its fix. Call it once before any worker loads ONNX Runtime.
 */
export function checkCudaProvisioning(opts: CudaCheckOptions): CudaCheckResult {
  const { result, problems } = inspectCudaProvisioning(opts);
  if (problems.length === 0) return result;
  const lines = problems.map((p) => `  - ${p.piece}.\n    Fix: ${p.fix}.`).join('\n');
  const err = new CudaProvisioningError(`DEVICES=${opts.devices.join(',')}`, lines);
  throw Object.assign(err, { problems });
}
