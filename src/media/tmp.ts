import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

/**
 * A temporary directory with exactly one owner. The owner calls `remove()` in a `finally`;
 * removal is recursive and idempotent (a second call, or a call after the directory vanished, is a no-op).
 */
export interface TmpDir {
  /** Absolute path of the directory. */
  readonly path: string;
  /** Path of a file directly inside the directory; `name` must be a plain file name. */
  file(name: string): string;
  remove(): Promise<void>;
}

export interface TmpDirOptions {
  /** Parent directory; defaults to the OS temp dir (TMPDIR). Tests pass their own to check for leaks. */
  readonly root?: string;
}

const PREFIX_RE = /^[A-Za-z0-9_-]{1,32}$/;

/** Create `<root>/c3s-<prefix>-` plus six random characters (mode 0700, from mkdtemp). */
export async function createTmpDir(prefix: string, options: TmpDirOptions = {}): Promise<TmpDir> {
  if (!PREFIX_RE.test(prefix)) throw new RangeError(`createTmpDir: prefix must match ${PREFIX_RE}, got '${prefix}'`);
  const path = await mkdtemp(join(options.root ?? tmpdir(), `c3s-${prefix}-`));
  let removal: Promise<void> | undefined;
  return {
    path,
    file(name: string): string {
      if (name === '' || name === '.' || name === '..' || basename(name) !== name) {
        throw new RangeError(`TmpDir.file: '${name}' is not a plain file name`);
      }
      return join(path, name);
    },
    remove(): Promise<void> {
      removal ??= rm(path, { recursive: true, force: true, maxRetries: 2 });
      return removal;
    },
  };
}
