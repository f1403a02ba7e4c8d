import { mkdir, readdir, readFile, realpath, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fetchInput, type FetchInputOptions } from '../../src/media/index.js';
import {
  InputFetchError,
  InputForbiddenError,
  InputTimeoutError,
  InputTooLargeError,
} from '../../src/shared/index.js';
import { scratchDir } from '../support/media-fixtures.js';
import { closedPort, startServer, type TestServer } from '../support/media-http.js';

const MAX = 1000;
let dir: { path: string; cleanup: () => Promise<void> };
let tmpRoot: string;
let server: TestServer;

beforeAll(async () => {
  dir = await scratchDir('fetch');
  tmpRoot = join(dir.path, 'tmp');
  await mkdir(tmpRoot);
  server = await startServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    const hop = /^\/hop\/(\d+)$/.exec(path);
    if (path === '/ok') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '11' }).end('[[1.5, 2]] ');
    } else if (hop) {
      const n = Number(hop[1]);
      res.writeHead(302, { location: n === 0 ? '/ok' : `/hop/${n - 1}` }).end();
    } else if (path === '/relative') {
      res.writeHead(301, { location: 'ok' }).end();
    } else if (path === '/see-other') {
      res.writeHead(303, { location: `${server.origin}/ok` }).end();
    } else if (path === '/to-file') {
      res.writeHead(302, { location: 'file:///etc/passwd' }).end();
    } else if (path === '/to-ftp') {
      res.writeHead(307, { location: 'ftp://127.0.0.1/x' }).end();
    } else if (path === '/no-location') {
      res.writeHead(302).end();
    } else if (path === '/big-declared') {
      res.writeHead(200, { 'content-length': String(MAX + 1) }).end(Buffer.alloc(MAX + 1));
    } else if (path === '/big-chunked') {
      res.writeHead(200); // no Content-Length: chunked
      let sent = 0;
      const timer = setInterval(() => {
        res.write(Buffer.alloc(300));
        if ((sent += 300) >= 3000) {
          clearInterval(timer);
          res.end();
        }
      }, 5);
      res.on('close', () => clearInterval(timer));
    } else if (path === '/exact') {
      res.writeHead(200).end(Buffer.alloc(MAX, 1));
    } else if (path === '/slow-headers') {
      // never answers
    } else if (path === '/slow-body') {
      res.writeHead(200);
      res.write('[[');
      // then stalls
    } else if (path === '/error') {
      res.writeHead(500).end('oops');
    } else {
      res.writeHead(404).end('not found');
    }
  });
});
afterAll(async () => {
  await server.close();
  await dir.cleanup();
});

/** The test server is on 127.0.0.1: downloads allow private addresses unless a test says otherwise. */
function opts(over: Partial<FetchInputOptions> = {}): FetchInputOptions {
  return { inputRoots: [], maxBytes: MAX, timeoutMs: 3000, connectTimeoutMs: 1000, tmpRoot, allowPrivateAddresses: true, ...over };
}

async function failure(ref: string, over: Partial<FetchInputOptions> = {}): Promise<Error & Record<string, unknown>> {
  const err = await fetchInput(ref, 'vision_path', opts(over)).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof Error)) throw new Error(`expected ${ref} to fail`);
  return err as Error & Record<string, unknown>;
}

describe('fetchInput: URLs', () => {
  beforeEach(async () => {
    expect(await readdir(tmpRoot)).toEqual([]);
  });

  it('downloads into an owned temp dir the caller removes', async () => {
    const got = await fetchInput(`${server.origin}/ok`, 'action_path', opts());
    try {
      expect(got.bytes).toBe(11);
      expect(got.tmp).toBeDefined();
      expect(got.file.startsWith(tmpRoot)).toBe(true);
      expect(await readFile(got.file, 'utf8')).toBe('[[1.5, 2]] ');
    } finally {
      await got.tmp?.remove();
    }
    expect(await readdir(tmpRoot)).toEqual([]);
  });

  it('follows a redirect chain up to the cap, relative Locations and 303 included', async () => {
    for (const path of ['/hop/4', '/relative', '/see-other']) {
      const got = await fetchInput(`${server.origin}${path}`, 'vision_path', opts());
      await got.tmp?.remove();
      expect(got.bytes).toBe(11);
    }
  });

  it('refuses more redirects than the cap', async () => {
    const err = await failure(`${server.origin}/hop/5`);
    expect(err).toBeInstanceOf(InputFetchError);
    expect(err.message).toMatch(/more than 5 redirects/);
    expect(await failure(`${server.origin}/hop/2`, { maxRedirects: 1 })).toBeInstanceOf(InputFetchError);
  });

  it('checks the scheme on every hop', async () => {
    expect(await failure(`${server.origin}/to-file`)).toBeInstanceOf(InputForbiddenError);
    expect(await failure(`${server.origin}/to-ftp`)).toBeInstanceOf(InputForbiddenError);
    expect((await failure(`${server.origin}/no-location`)).message).toMatch(/without a Location/);
  });

  it('non-2xx → 400 InputFetchError naming the field, without the query string', async () => {
    const err = await failure(`${server.origin}/missing?token=secret`);
    expect(err).toBeInstanceOf(InputFetchError);
    expect(err).toMatchObject({ statusCode: 400, field: 'vision_path' });
    expect(err.message).toMatch(/answered HTTP 404$/); // nothing formatted after it (no stray 'undefined')
    expect(err.message).not.toMatch(/secret/);
    expect((await failure(`${server.origin}/error`)).message).toMatch(/HTTP 500/);
  });

  it('oversize by Content-Length → 400 InputTooLargeError', async () => {
    const err = await failure(`${server.origin}/big-declared`);
    expect(err).toBeInstanceOf(InputTooLargeError);
    expect(err).toMatchObject({ statusCode: 400, field: 'vision_path' });
  });

  it('oversize while streaming (no Content-Length) → 400 InputTooLargeError', async () => {
    expect(await failure(`${server.origin}/big-chunked`)).toBeInstanceOf(InputTooLargeError);
  });

  it('exactly maxBytes is accepted', async () => {
    const got = await fetchInput(`${server.origin}/exact`, 'vision_path', opts());
    await got.tmp?.remove();
    expect(got.bytes).toBe(MAX);
  });

  it('no response headers in time → 504 InputTimeoutError', async () => {
    const started = Date.now();
    const err = await failure(`${server.origin}/slow-headers`, { connectTimeoutMs: 200 });
    expect(err).toBeInstanceOf(InputTimeoutError);
    expect(err).toMatchObject({ statusCode: 504, field: 'vision_path' });
    expect(err.message).toMatch(/200 ms/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('a body that stalls past the total timeout → 504 InputTimeoutError', async () => {
    const err = await failure(`${server.origin}/slow-body`, { timeoutMs: 300 });
    expect(err).toBeInstanceOf(InputTimeoutError);
    expect(err.message).toMatch(/300 ms/);
  });

  it('connection refused → 400 InputFetchError, not a 500', async () => {
    const port = await closedPort();
    const err = await failure(`http://127.0.0.1:${port}/x`);
    expect(err).toBeInstanceOf(InputFetchError);
    expect(err).toMatchObject({ statusCode: 400 });
    expect(err.message).toMatch(/ECONNREFUSED/);
  });

  it('DNS failure → 400 InputFetchError (fetch injected: tests have no resolver)', async () => {
    const fakeFetch = (async () => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }) });
    }) as unknown as typeof fetch;
    const err = await failure('https://no-such-host.invalid/a.png', { fetch: fakeFetch });
    expect(err).toBeInstanceOf(InputFetchError);
    expect(err.message).toMatch(/ENOTFOUND/);
  });

  it("the caller's abort rejects with its reason and removes the temp dir", async () => {
    const controller = new AbortController();
    const reason = new Error('request closed');
    setTimeout(() => controller.abort(reason), 100);
    const err = await failure(`${server.origin}/slow-body`, { signal: controller.signal });
    expect(err).toBe(reason);
  });

  it('refuses other schemes and malformed URLs', async () => {
    for (const ref of ['file:///etc/passwd', 'ftp://example.com/a.mp4', 'data:text/plain,hi']) {
      const err = await failure(ref);
      expect(err).toBeInstanceOf(InputForbiddenError);
      expect(err).toMatchObject({ statusCode: 400, field: 'vision_path' });
    }
    expect(await failure('http://[::1')).toBeInstanceOf(InputFetchError);
  });

  it('refuses non-public addresses unless allowed: IP literals before connecting, names at connect time', async () => {
    const strict = { allowPrivateAddresses: false };
    for (const ref of [`${server.origin}/ok`, 'http://[::1]:9/x', 'http://169.254.169.254/latest/meta-data/', 'http://2130706433/x', 'http://[::ffff:10.0.0.1]/x']) {
      const err = await failure(ref, strict);
      expect(err, ref).toBeInstanceOf(InputForbiddenError);
      expect(err).toMatchObject({ statusCode: 400, field: 'vision_path' });
      expect(err.message).toMatch(/is not a public address \(ALLOW_PRIVATE_URLS=1 allows it\)/);
    }
    // a name is checked on every address it resolves to, when connecting ('localhost' → 127.0.0.1 / ::1)
    const named = await failure(`http://localhost:${new URL(server.origin).port}/ok?t=secret`, strict);
    expect(named).toBeInstanceOf(InputForbiddenError);
    expect(named.message).toMatch(/localhost resolves to .*, which is not a public address/);
    expect(named.message).not.toMatch(/secret/);
    // allowed: the same download succeeds
    const got = await fetchInput(`${server.origin}/ok`, 'vision_path', opts());
    await got.tmp?.remove();
    expect(got.bytes).toBe(11);
  });

  it('refuses a redirect from a public address to a private one', async () => {
    const hops: string[] = [];
    const fakeFetch = (async (url: URL) => {
      hops.push(String(url));
      return new Response(null, { status: 302, headers: { location: 'http://192.168.1.1/admin' } });
    }) as unknown as typeof fetch;
    const err = await failure('http://93.184.215.14/a.mp4', { allowPrivateAddresses: false, fetch: fakeFetch });
    expect(err).toBeInstanceOf(InputForbiddenError);
    expect(err.message).toMatch(/192\.168\.1\.1 is not a public address/);
    expect(hops).toEqual(['http://93.184.215.14/a.mp4']);
  });

  it('leaves no temp files after any of the above', async () => {
    expect(await readdir(tmpRoot)).toEqual([]);
  });
});

describe('fetchInput: local paths', () => {
  let root: string;
  let outside: string;
  beforeAll(async () => {
    root = join(dir.path, 'inputs');
    outside = join(dir.path, 'outside');
    await mkdir(join(root, 'sub'), { recursive: true });
    await mkdir(outside);
    await mkdir(join(dir.path, 'inputs2'));
    await writeFile(join(root, 'sub', 'a.json'), '[[1]]');
    await writeFile(join(root, 'big.bin'), Buffer.alloc(MAX + 1));
    await writeFile(join(outside, 'secret.txt'), 'secret');
    await writeFile(join(dir.path, 'inputs2', 'x.json'), '[[1]]');
    await symlink(join(outside, 'secret.txt'), join(root, 'escape.txt'));
    await symlink(outside, join(root, 'escape-dir'));
    await symlink(join(root, 'sub', 'a.json'), join(root, 'inside-link.json'));
  });

  it('accepts a file inside a root, returning its real path and no temp dir', async () => {
    const got = await fetchInput(join(root, 'sub', 'a.json'), 'action_path', opts({ inputRoots: ['/nonexistent-root', root] }));
    expect(got).toEqual({ file: await realpath(join(root, 'sub', 'a.json')), bytes: 5 });
  });

  it('follows symlinks that stay inside the root', async () => {
    const got = await fetchInput(join(root, 'inside-link.json'), 'action_path', opts({ inputRoots: [root] }));
    expect(got.file).toBe(await realpath(join(root, 'sub', 'a.json')));
  });

  it.each([
    ['traversal with ../', (r: string) => `${r}/sub/../../outside/secret.txt`],
    ['a sibling directory sharing the prefix', (r: string) => `${r}2/x.json`],
    ['a symlink escaping the root', (r: string) => `${r}/escape.txt`],
    ['a path through a symlinked directory escaping the root', (r: string) => `${r}/escape-dir/secret.txt`],
    ['the root itself', (r: string) => r],
  ])('refuses %s', async (_name, make) => {
    const err = await failure(make(root), { inputRoots: [root] });
    expect(err).toBeInstanceOf(InputForbiddenError);
    expect(err).toMatchObject({ statusCode: 400, field: 'vision_path' });
  });

  it('missing file → 400 InputFetchError', async () => {
    const err = await failure(join(root, 'nope.mp4'), { inputRoots: [root] });
    expect(err).toBeInstanceOf(InputFetchError);
    expect(err).toMatchObject({ statusCode: 400, field: 'vision_path' });
  });

  it('a directory is not an input', async () => {
    expect(await failure(join(root, 'sub'), { inputRoots: [root] })).toBeInstanceOf(InputFetchError);
  });

  it('too large → 400 InputTooLargeError', async () => {
    expect(await failure(join(root, 'big.bin'), { inputRoots: [root] })).toBeInstanceOf(InputTooLargeError);
  });

  it('no roots configured → local paths refused with a clear message', async () => {
    const err = await failure(join(root, 'sub', 'a.json'));
    expect(err).toBeInstanceOf(InputForbiddenError);
    expect(err.message).toMatch(/local paths are disabled.*INPUT_ROOTS/);
  });

  it('relative paths are refused', async () => {
    expect(await failure('sub/a.json', { inputRoots: [root] })).toBeInstanceOf(InputForbiddenError);
  });
});
