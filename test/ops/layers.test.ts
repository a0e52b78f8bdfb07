import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

// Only the CLI imports the layers below it: nothing outside src/cli may import from src/cli
// (configuration loading lives in src/config, the session's wiring in src/ops/compose).

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const src = join(root, 'src');
const cli = join(src, 'cli');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every module a file names: static imports, re-exports and dynamic import() calls. */
export function importsOf(text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(/\b(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g))
    if (match[1] !== undefined) found.push(match[1]);
  return found;
}

/** The imports of `file` (with `text`) that land in src/cli. */
function cliImports(file: string, text: string): string[] {
  return importsOf(text).filter((spec) => {
    if (!spec.startsWith('.')) return false;
    const target = resolve(dirname(file), spec);
    return target === cli || target.startsWith(`${cli}/`);
  });
}

describe('layers: only src/cli imports src/cli', () => {
  it('finds an import into src/cli, static or dynamic (the check can fail)', () => {
    const file = join(src, 'ops', 'compose', 'example.ts');
    assert.deepEqual(cliImports(file, "import { x } from '../../cli/connect.ts';"), ['../../cli/connect.ts']);
    assert.deepEqual(cliImports(file, "const m = await import('../../cli/config.ts');"), [
      '../../cli/config.ts',
    ]);
    assert.deepEqual(cliImports(file, "export { y } from '../../cli/options.ts';"), ['../../cli/options.ts']);
    assert.deepEqual(cliImports(file, "import { z } from '../../config/connection.ts';"), []);
  });

  it('no module outside src/cli imports from src/cli (src/ops included)', () => {
    const offenders: string[] = [];
    for (const file of sources(src)) {
      if (file.startsWith(`${cli}/`)) continue;
      for (const spec of cliImports(file, readFileSync(file, 'utf8')))
        offenders.push(`${relative(root, file)} imports ${spec}`);
    }
    assert.deepEqual(offenders, [], `only src/cli may import src/cli:\n${offenders.join('\n')}`);
  });

  it('src/ops has modules to check (the scan is not vacuous)', () => {
    assert.ok(sources(join(src, 'ops')).length > 5);
  });
});
