import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { SERVE_USAGE } from '../../src/cli/serve.js';
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
