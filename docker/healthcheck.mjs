#!/usr/bin/env node
// Docker HEALTHCHECK: exit 0 when GET /health/ready answers 200 (the model is loaded and warmed up), 1 otherwise.
// Node's own fetch, so the image needs no curl. PORT as the server reads it; HEALTHCHECK_HOST when HOST is not
// reachable on the loopback address.
const port = process.env.PORT || '8080';
const host = process.env.HEALTHCHECK_HOST || '127.0.0.1';
const timeoutMs = Number(process.env.HEALTHCHECK_TIMEOUT_MS || 5000);
const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/health/ready`;

try {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const body = (await res.text()).slice(0, 300);
  if (res.status === 200) {
    process.stdout.write(`ready: ${body}\n`);
    process.exitCode = 0;
  } else {
    process.stderr.write(`not ready: HTTP ${res.status} ${body}\n`);
    process.exitCode = 1;
  }
} catch (err) {
  process.stderr.write(`not ready: ${url} unreachable (${err?.cause?.code ?? err?.name ?? 'error'}: ${err?.message})\n`);
  process.exitCode = 1;
}
