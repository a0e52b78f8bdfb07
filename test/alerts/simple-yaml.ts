// A parser for the plain subset of YAML deploy/prometheus/alerts.yml is written in (no promtool
// here): block maps and lists by indentation, `key: value`, `- key: value` list items, scalars as
// one-line quoted strings (double: JSON escapes; single: '' for a quote) or bare words, `#` comments on their own lines.
// Anything outside the subset is an error naming the line, so the file cannot drift from it.

export type Yaml = string | Yaml[] | { [key: string]: Yaml };

interface Line {
  readonly n: number;
  readonly indent: number;
  readonly text: string;
}

function scalar(text: string, n: number): string {
  if (text.startsWith('"')) {
    if (!text.endsWith('"') || text.length < 2) throw new Error(`line ${n}: unterminated string`);
    return JSON.parse(text) as string;
  }
  if (text.startsWith("'")) {
    if (!text.endsWith("'") || text.length < 2) throw new Error(`line ${n}: unterminated string`);
    const inner = text.slice(1, -1);
    if (inner.replace(/''/g, '').includes("'")) throw new Error(`line ${n}: stray quote`);
    return inner.replace(/''/g, "'");
  }
  if (!/^[A-Za-z0-9_.\-/]+$/.test(text))
    throw new Error(`line ${n}: quote the value ${JSON.stringify(text)}`);
  return text;
}

export function parseSimpleYaml(source: string): Yaml {
  const lines: Line[] = [];
  source.split('\n').forEach((raw, i) => {
    if (raw.trim() === '' || raw.trimStart().startsWith('#')) return;
    if (raw.includes('\t')) throw new Error(`line ${i + 1}: tab in indentation`);
    lines.push({ n: i + 1, indent: raw.length - raw.trimStart().length, text: raw.trim() });
  });
  let at = 0;

  function block(indent: number): Yaml {
    const first = lines[at];
    if (first === undefined || first.indent !== indent)
      throw new Error(`line ${first?.n ?? 'end'}: bad indentation`);
    return first.text.startsWith('- ') ? list(indent) : map(indent);
  }

  function entry(out: Record<string, Yaml>, text: string, line: Line, childIndent: number): void {
    const m = /^([A-Za-z_][A-Za-z0-9_]*):(?: (.+))?$/.exec(text);
    if (!m?.[1]) throw new Error(`line ${line.n}: expected "key: value", got ${JSON.stringify(text)}`);
    if (m[1] in out) throw new Error(`line ${line.n}: duplicate key ${m[1]}`);
    if (m[2] !== undefined) {
      out[m[1]] = scalar(m[2], line.n);
      return;
    }
    const next = lines[at];
    if (next === undefined || next.indent < childIndent)
      throw new Error(`line ${line.n}: ${m[1]} has no value`);
    out[m[1]] = block(next.indent);
  }

  function map(indent: number): Record<string, Yaml> {
    const out: Record<string, Yaml> = {};
    while (at < lines.length) {
      const line = lines[at];
      if (line === undefined || line.indent < indent) break;
      if (line.indent > indent || line.text.startsWith('- '))
        throw new Error(`line ${line.n}: bad indentation`);
      at += 1;
      entry(out, line.text, line, indent + 1);
    }
    return out;
  }

  function list(indent: number): Yaml[] {
    const out: Yaml[] = [];
    while (at < lines.length) {
      const line = lines[at];
      if (line === undefined || line.indent < indent) break;
      if (line.indent > indent || !line.text.startsWith('- '))
        throw new Error(`line ${line.n}: bad indentation`);
      // "- key: value" opens a map whose further keys sit at indent + 2.
      at += 1;
      const item: Record<string, Yaml> = {};
      entry(item, line.text.slice(2), line, indent + 3);
      const rest = lines[at];
      if (rest !== undefined && rest.indent === indent + 2) Object.assign(item, map(indent + 2));
      out.push(item);
    }
    return out;
  }

  const root = block(0);
  if (at !== lines.length) throw new Error(`line ${lines[at]?.n ?? '?'}: unexpected content`);
  return root;
}
