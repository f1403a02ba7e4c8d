#!/usr/bin/env node
// Provisions ONNX Runtime's CUDA execution provider for onnxruntime-node 1.29.0 (`npm run provision:cuda`).
//
// onnxruntime-node ships only the CPU build of libonnxruntime.so.1, and its own CUDA installer downloads from
// a host we cannot reach (.npmrc: onnxruntime-node-install=skip). The npm package
// com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9 carries the ORT 1.29.0 CUDA 13 provider libraries; this
// script takes libonnxruntime_providers_{cuda,shared}.so out of it, checks that they are what we expect and
// puts them next to libonnxruntime.so.1, where ORT looks for them. It then writes native/cuda-ep.json
// (versions, sizes, sha256), which the server's start-up check (src/engine/ort/cuda-check.ts) reads.
//
// Node built-ins only: it runs before anything else is built. The tarball is read with node:zlib and the small
// ustar reader in read-tar.mjs rather than the system `tar`, so that nothing but the two wanted files is ever
// written, links and odd entry types are refused, and the files are hashed and version-checked while they
// stream out (no 230 MB temporary copy of the whole package, no dependency on GNU/BSD/busybox tar flags).
//
// Usage: node native/provision-cuda.mjs [--from <tgz>] [--dest <dir>] [--record <file>] [--dry-run] [--force]
//        [--no-integrity]
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync, createReadStream, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync,
  statSync, writeFileSync, writeSync, chmodSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createGunzip } from 'node:zlib';
import { readTar, TarFormatError } from './read-tar.mjs';

/** The provider package: pinned by version and by the registry's integrity of its tarball. */
export const PROVIDER_PACKAGE = Object.freeze({
  name: 'com.github.asus4.onnxruntime.linux-x64-gpu',
  version: '0.4.9',
  integrity: 'sha512-FopIhNE/Ng+v2X65wVc9clPCBCvhvA53Hxo2U0Kf5fGdVsC7iCA+mZ0KLWggcQAj7TIZ6pNidR4AC10g74Xo6w==',
});
/** The ORT release the provider libraries were built from; onnxruntime-node must be exactly this version. */
export const ORT_VERSION = '1.29.0';
/** Where the libraries sit inside the package tarball (a Unity package layout). */
export const LIB_PREFIX = 'package/Plugins/Linux/x64/';
export const PROVIDER_FILES = Object.freeze(['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so']);
/** What the CUDA provider needs from the system (ELF NEEDED of libonnxruntime_providers_cuda.so, plus cuDNN). */
export const REQUIRED_LIBRARIES = Object.freeze([
  'libcudart.so.13', 'libcublas.so.13', 'libcublasLt.so.13', 'libcurand.so.10', 'libcudnn.so.9', 'libcuda.so.1',
]);
export const RECORD_SCHEMA = 1;

const NATIVE_DIR = dirname(fileURLToPath(import.meta.url));
const USAGE = `Usage: npm run provision:cuda -- [options]
       node native/provision-cuda.mjs [options]

Copies libonnxruntime_providers_{cuda,shared}.so (ORT ${ORT_VERSION}, CUDA 13) from the npm package
${PROVIDER_PACKAGE.name}@${PROVIDER_PACKAGE.version} next to onnxruntime-node's libonnxruntime.so.1 and
records them in native/cuda-ep.json. Running it again changes nothing when the files are already in place.

  --from <tgz>     use this package tarball instead of \`npm pack\` (offline hosts)
  --dest <dir>     install into <dir> (default: onnxruntime-node's bin/napi-v6/linux/x64); <dir> must lie
                   inside an onnxruntime-node package, whose version is checked
  --record <file>  where to write the record (default: native/cuda-ep.json)
  --dry-run        fetch and verify, say what would change, change nothing
  --force          fetch and reinstall even when the record says everything is in place
  --no-integrity   accept a tarball whose sha512 is not the pinned one (tests, local rebuilds)`;

export class ProvisionError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = 'ProvisionError';
  }
}

// ---------------------------------------------------------------------------------------------------------
// Helpers

async function hashFile(file, algorithm) {
  const hash = createHash(algorithm);
  await pipeline(createReadStream(file), async function* (source) {
    for await (const chunk of source) hash.update(chunk);
  });
  return hash.digest();
}

/** The version in `VERS_<x.y.z>`, the symbol version every ORT release stamps on libonnxruntime.so. */
export function ortVersionOfCoreLibrary(bytes) {
  const m = /VERS_(\d+\.\d+\.\d+)/.exec(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1'));
  return m ? m[1] : undefined;
}

/** Finds a byte pattern in a stream of chunks, across chunk boundaries. */
function markerScanner(marker) {
  let tail = Buffer.alloc(0);
  let found = false;
  return {
    write(chunk) {
      if (found) return;
      const head = chunk.subarray(0, marker.length - 1);
      if (Buffer.concat([tail, head]).includes(marker) || chunk.includes(marker)) found = true;
      const joined = Buffer.concat([tail, chunk.subarray(Math.max(0, chunk.length - (marker.length - 1)))]);
      tail = joined.subarray(Math.max(0, joined.length - (marker.length - 1)));
    },
    get found() { return found; },
  };
}

function readJson(file, what) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ProvisionError(`cannot read ${what} ${file}: ${err.message}`, { cause: err });
  }
}

/** The nearest folder at or above `start` whose package.json is named `name`. */
function packageDirAbove(start, name) {
  for (let dir = start; ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if (JSON.parse(readFileSync(pkg, 'utf8')).name === name) return dir;
      } catch {
        // keep walking up
      }
    }
    if (dirname(dir) === dir) return undefined;
  }
}

function runNpmPack(spec, into, env) {
  // Under `npm run`, npm_execpath is the npm that runs us: use the same one (and its registry settings).
  const npmCli = env.npm_execpath;
  const [cmd, pre] = npmCli && /\.[cm]?js$/.test(npmCli) ? [process.execPath, [npmCli]] : ['npm', []];
  const args = [...pre, 'pack', spec, '--pack-destination', into, '--json', '--ignore-scripts'];
  return new Promise((resolveP, reject) => {
    execFile(cmd, args, { env, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        reject(new ProvisionError(`\`npm pack ${spec}\` failed (${err.message.split('\n')[0]}): ${String(stderr).trim().slice(-2000)}\n`
          + 'Check that the npm registry is reachable, or download the tarball elsewhere and pass it with --from <tgz>.', { cause: err }));
        return;
      }
      try {
        const [info] = JSON.parse(stdout);
        resolveP(join(into, info.filename));
      } catch (e) {
        reject(new ProvisionError(`\`npm pack ${spec}\` printed no usable JSON: ${String(stdout).slice(0, 500)}`, { cause: e }));
      }
    });
  });
}

// ---------------------------------------------------------------------------------------------------------
// Steps

/** Where to install and where onnxruntime-node lives; checks that it is the ORT release the providers need. */
function locateBinding(destArg) {
  let dest;
  let ortDir;
  if (destArg) {
    dest = resolve(destArg);
    ortDir = packageDirAbove(dest, 'onnxruntime-node');
    if (!ortDir) throw new ProvisionError(`--dest ${dest} is not inside an onnxruntime-node package (expected <onnxruntime-node>/bin/napi-v6/linux/x64)`);
  } else {
    let pkgJson;
    try {
      pkgJson = createRequire(join(NATIVE_DIR, '..', 'package.json')).resolve('onnxruntime-node/package.json');
    } catch (err) {
      throw new ProvisionError('onnxruntime-node is not installed: run `npm ci` first', { cause: err });
    }
    ortDir = dirname(pkgJson);
    dest = join(ortDir, 'bin', 'napi-v6', 'linux', 'x64');
  }
  const ortNodeVersion = readJson(join(ortDir, 'package.json'), 'onnxruntime-node package.json').version;
  if (ortNodeVersion !== ORT_VERSION) {
    throw new ProvisionError(`onnxruntime-node ${ortNodeVersion} is installed, but ${PROVIDER_PACKAGE.name}@${PROVIDER_PACKAGE.version} `
      + `carries ORT ${ORT_VERSION} providers (versions must match exactly): install onnxruntime-node@${ORT_VERSION} (npm ci)`);
  }
  const core = join(dest, 'libonnxruntime.so.1');
  if (!existsSync(core)) {
    throw new ProvisionError(`${core} is missing: onnxruntime-node's binding is not installed for linux-x64 (run \`npm ci\`)`);
  }
  const coreVersion = ortVersionOfCoreLibrary(readFileSync(core));
  if (coreVersion !== ORT_VERSION) {
    throw new ProvisionError(`${core} is ORT ${coreVersion ?? '(no VERS_ marker)'}, not ${ORT_VERSION}: reinstall onnxruntime-node@${ORT_VERSION} (rm -rf node_modules && npm ci)`);
  }
  return { dest, ortDir, ortNodeVersion };
}

/** True when the record matches the files in `dest` byte for byte (sha256): nothing to do. */
async function alreadyProvisioned(recordFile, dest) {
  if (!existsSync(recordFile)) return false;
  let record;
  try {
    record = JSON.parse(readFileSync(recordFile, 'utf8'));
  } catch {
    return false;
  }
  if (record.schema !== RECORD_SCHEMA || record.ortVersion !== ORT_VERSION
    || record.package?.name !== PROVIDER_PACKAGE.name || record.package?.version !== PROVIDER_PACKAGE.version) return false;
  for (const name of PROVIDER_FILES) {
    const entry = record.files?.find((f) => f.name === name);
    const file = join(dest, name);
    if (!entry || !existsSync(file) || statSync(file).size !== entry.size) return false;
    if ((await hashFile(file, 'sha256')).toString('hex') !== entry.sha256) return false;
  }
  return true;
}

/** Streams the tarball once: package metadata into memory, the two libraries into `stageDir` (unless dry). */
async function extract(tgz, stageDir) {
  const found = new Map();
  let packageJson;
  let readme;
  const marker = Buffer.from(`\0${ORT_VERSION}\0`, 'latin1');
  const openFds = new Set();
  let failure; // pipeline() reports the AbortError of the streams it tears down, not why: keep the why
  const onEntry = (entry) => {
    if (entry.name === 'package/package.json' || entry.name === 'package/README.md') {
      const parts = [];
      return {
        write: (c) => parts.push(Buffer.from(c)),
        end: () => {
          if (entry.name.endsWith('.json')) packageJson = Buffer.concat(parts).toString('utf8');
          else readme = Buffer.concat(parts).toString('utf8');
        },
      };
    }
    if (!entry.name.startsWith(LIB_PREFIX)) return undefined;
    const name = entry.name.slice(LIB_PREFIX.length);
    if (!PROVIDER_FILES.includes(name)) return undefined;
    if (entry.type !== '0') throw new ProvisionError(`${entry.name} in the package is not a regular file (tar type '${entry.type}')`);
    if (found.has(name)) throw new ProvisionError(`${entry.name} appears twice in the package`);
    const sha256 = createHash('sha256');
    const scan = markerScanner(marker);
    const staged = stageDir ? join(stageDir, name) : undefined;
    const fd = staged ? openSync(staged, 'w', 0o755) : undefined;
    let size = 0;
    let head = Buffer.alloc(0);
    return {
      write(chunk) {
        sha256.update(chunk);
        scan.write(chunk);
        if (head.length < 20) head = Buffer.concat([head, chunk.subarray(0, 20 - head.length)]);
        size += chunk.length;
        if (fd !== undefined) {
          for (let off = 0; off < chunk.length;) off += writeSync(fd, chunk, off, chunk.length - off);
        }
      },
      end() {
        if (fd !== undefined) {
          closeSync(fd);
          openFds.delete(fd);
        }
        found.set(name, { name, size, sha256: sha256.digest('hex'), staged, head, hasVersionMarker: scan.found });
      },
    };
  };
  try {
    await pipeline(createReadStream(tgz), createGunzip(), async (source) => {
      try {
        await readTar(source, onEntry);
      } catch (e) {
        failure = e;
        throw e;
      }
    });
  } catch (e) {
    const cause = failure ?? e;
    if (cause instanceof ProvisionError) throw cause;
    if (cause instanceof TarFormatError) throw new ProvisionError(`${tgz}: ${cause.message}`, { cause });
    throw new ProvisionError(`cannot read ${tgz}: ${cause.message} (not a gzip'd npm tarball, or damaged)`, { cause });
  } finally {
    for (const fd of openFds) closeSync(fd);
  }
  return { found, packageJson, readme };
}

function verify({ found, packageJson, readme }) {
  if (packageJson === undefined) throw new ProvisionError('the tarball has no package/package.json: not an npm package');
  let pkg;
  try {
    pkg = JSON.parse(packageJson);
  } catch (err) {
    throw new ProvisionError('package/package.json in the tarball is not JSON', { cause: err });
  }
  if (pkg.name !== PROVIDER_PACKAGE.name || pkg.version !== PROVIDER_PACKAGE.version) {
    throw new ProvisionError(`the tarball is ${pkg.name}@${pkg.version}, expected ${PROVIDER_PACKAGE.name}@${PROVIDER_PACKAGE.version}`);
  }
  const stated = readme && /ONNX Runtime:\s*\[(\d+\.\d+\.\d+)\]/.exec(readme);
  if (stated && stated[1] !== ORT_VERSION) {
    throw new ProvisionError(`the package's README says it carries ONNX Runtime ${stated[1]}, expected ${ORT_VERSION}`);
  }
  for (const name of PROVIDER_FILES) {
    const f = found.get(name);
    if (!f) throw new ProvisionError(`the package has no ${LIB_PREFIX}${name}`);
    // ELF, 64-bit, little-endian, e_machine 62 (x86-64)
    const elf = f.head.length >= 20 && f.head.readUInt32BE(0) === 0x7f454c46 && f.head[4] === 2 && f.head[5] === 1
      && f.head.readUInt16LE(18) === 62;
    if (!elf) throw new ProvisionError(`${name} in the package is not an x86-64 ELF shared library`);
  }
  if (!found.get(PROVIDER_FILES[0]).hasVersionMarker) {
    throw new ProvisionError(`${PROVIDER_FILES[0]} in the package does not carry the ORT ${ORT_VERSION} version string: it was built from another ORT release`);
  }
}

function recordOf(found, { dest, ortNodeVersion }) {
  return {
    schema: RECORD_SCHEMA,
    ortVersion: ORT_VERSION,
    onnxruntimeNode: ortNodeVersion,
    package: { ...PROVIDER_PACKAGE },
    cuda: '13',
    cudnn: '9',
    bindingDir: dest,
    files: PROVIDER_FILES.map((name) => {
      const { size, sha256 } = found.get(name);
      return { name, size, sha256 };
    }),
    requiredLibraries: [...REQUIRED_LIBRARIES],
  };
}

/** Runs the whole job; returns the exit code. `out`/`err` receive human-readable lines. */
export async function provision(argv, { env = process.env, out = process.stdout, err = process.stderr } = {}) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        from: { type: 'string' },
        dest: { type: 'string' },
        record: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        force: { type: 'boolean', default: false },
        'no-integrity': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    err.write(`provision-cuda: ${e.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    out.write(`${USAGE}\n`);
    return 0;
  }
  const dry = values['dry-run'];
  const say = (line) => out.write(`provision-cuda: ${dry ? '[dry run] ' : ''}${line}\n`);
  let workDir;
  let stageDir;
  try {
    if (process.platform !== 'linux' || process.arch !== 'x64') {
      throw new ProvisionError(`the CUDA provider libraries are built for linux-x64; this is ${process.platform}-${process.arch}`);
    }
    const binding = locateBinding(values.dest);
    const recordFile = resolve(values.record ?? join(NATIVE_DIR, 'cuda-ep.json'));
    say(`onnxruntime-node ${binding.ortNodeVersion} at ${binding.ortDir}`);
    if (!values.force && await alreadyProvisioned(recordFile, binding.dest)) {
      say(`already provisioned: ${PROVIDER_FILES.join(', ')} in ${binding.dest} match ${recordFile}`);
      return 0;
    }

    let tgz;
    if (values.from) {
      tgz = resolve(values.from);
      if (!existsSync(tgz)) throw new ProvisionError(`--from ${tgz}: no such file`);
    } else {
      workDir = mkdtempSync(join(tmpdir(), 'c3s-provision-'));
      const spec = `${PROVIDER_PACKAGE.name}@${PROVIDER_PACKAGE.version}`;
      say(`fetching ${spec} with npm pack (about 180 MB)`);
      tgz = await runNpmPack(spec, workDir, env);
    }
    const integrity = `sha512-${(await hashFile(tgz, 'sha512')).toString('base64')}`;
    if (integrity !== PROVIDER_PACKAGE.integrity) {
      if (!values['no-integrity']) {
        throw new ProvisionError(`${basename(tgz)} has integrity ${integrity}, expected the registry's ${PROVIDER_PACKAGE.integrity} `
          + `for ${PROVIDER_PACKAGE.name}@${PROVIDER_PACKAGE.version}: the file is damaged or another package (--no-integrity accepts it anyway)`);
      }
      err.write(`provision-cuda: warning: ${basename(tgz)} is not the pinned tarball (integrity ${integrity}); accepted because of --no-integrity\n`);
    }

    if (!dry) {
      mkdirSync(binding.dest, { recursive: true });
      // staged inside dest so that the final rename is atomic (same filesystem)
      stageDir = mkdtempSync(join(binding.dest, '.provision-cuda-'));
    }
    const extracted = await extract(tgz, stageDir);
    verify(extracted);
    say(`verified ${PROVIDER_PACKAGE.name}@${PROVIDER_PACKAGE.version} (ORT ${ORT_VERSION}, CUDA 13)`);

    for (const name of PROVIDER_FILES) {
      const f = extracted.found.get(name);
      const target = join(binding.dest, name);
      const same = existsSync(target) && statSync(target).size === f.size
        && (await hashFile(target, 'sha256')).toString('hex') === f.sha256;
      if (same) {
        say(`${name} unchanged (${f.size} bytes, sha256 ${f.sha256.slice(0, 12)}…)`);
      } else if (dry) {
        say(`would copy ${name} (${f.size} bytes) to ${target}`);
      } else {
        chmodSync(f.staged, 0o755);
        renameSync(f.staged, target);
        say(`installed ${name} (${f.size} bytes, sha256 ${f.sha256.slice(0, 12)}…) in ${binding.dest}`);
      }
    }
    const text = `${JSON.stringify(recordOf(extracted.found, binding), null, 2)}\n`;
    const previous = existsSync(recordFile) ? readFileSync(recordFile, 'utf8') : undefined;
    if (previous === text) {
      say(`record ${recordFile} unchanged`);
    } else if (dry) {
      say(`would write ${recordFile}:\n${text}`);
    } else {
      mkdirSync(dirname(recordFile), { recursive: true });
      const tmp = `${recordFile}.${process.pid}.tmp`;
      writeFileSync(tmp, text);
      renameSync(tmp, recordFile);
      say(`wrote ${recordFile}`);
    }
    if (!dry) say(`done. At run time the CUDA provider also needs ${REQUIRED_LIBRARIES.join(', ')} (CUDA 13, cuDNN 9, driver) on the loader path`);
    return 0;
  } catch (e) {
    if (!(e instanceof ProvisionError)) throw e;
    err.write(`provision-cuda: error: ${e.message}\n`);
    return 1;
  } finally {
    if (stageDir) rmSync(stageDir, { recursive: true, force: true });
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  provision(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (e) => {
      process.stderr.write(`provision-cuda: unexpected failure: ${e?.stack ?? e}\n`);
      process.exitCode = 1;
    },
  );
}
