import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { isLoopback, SERVE_USAGE } from '../../src/cli/serve.js';
import { ENV_SCHEMA } from '../../src/config/schema.js';

describe('the configuration is documented wherever it is listed', () => {
  const names = Object.keys(ENV_SCHEMA.shape);

  it('serve --help names every environment variable the config reads', () => {
    for (const name of names) expect(SERVE_USAGE, name).toMatch(new RegExp(`\\b${name} \\(`));
  });

  it("the README's configuration table has a row for each", async () => {
    const readme = await readFile('README.md', 'utf8');
    for (const name of names) expect(readme, name).toMatch(new RegExp(`^\\| ${name} \\|`, 'm'));
  });
});

describe('the start-up warning for a server without API_KEY on a reachable address', () => {
  it('is given for every address but loopback ones', () => {
    for (const host of ['127.0.0.1', '127.0.0.53', 'localhost', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) expect(isLoopback(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.5', 'example.internal', '128.0.0.1']) expect(isLoopback(host), host).toBe(false);
  });
});
