/**
 * A strict reader of the Prometheus text exposition format (0.0.4) for tests: every line is a HELP, a TYPE or a
 * sample of a declared family (histograms through their _bucket/_sum/_count series), names and label names are
 * legal, label values are correctly escaped, values are numbers, and no series appears twice. Returns the samples.
 */
import assert from 'node:assert/strict';

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  /** The value exactly as written. */
  readonly text: string;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"(,|$)/y;
const VALUE = /^(?:[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|[+-]Inf|NaN)$/;

export function parseExposition(text: string): Sample[] {
  assert.ok(text.endsWith('\n'), 'the exposition ends with a newline');
  const types = new Map<string, string>();
  const seen = new Set<string>();
  const samples: Sample[] = [];
  for (const [i, line] of text.slice(0, -1).split('\n').entries()) {
    const where = `line ${i + 1}: ${line}`;
    if (line.startsWith('# HELP ')) {
      assert.match(line.split(' ')[2] ?? '', NAME, where);
      continue;
    }
    if (line.startsWith('# TYPE ')) {
      const [, , name = '', type = ''] = line.split(' ');
      assert.match(name, NAME, where);
      assert.match(type, /^(counter|gauge|histogram|summary|untyped)$/, where);
      assert.ok(!types.has(name), `${where}: TYPE given twice`);
      types.set(name, type);
      continue;
    }
    const m = /^([^{ ]+)(\{.*\})? (\S+)$/.exec(line);
    assert.ok(m, `${where}: not a sample`);
    const [, name = '', body = '', value = ''] = m;
    assert.match(name, NAME, where);
    assert.match(value, VALUE, where);
    const labels: Record<string, string> = {};
    if (body !== '') {
      const inner = body.slice(1, -1);
      LABEL.lastIndex = 0;
      while (LABEL.lastIndex < inner.length) {
        const l = LABEL.exec(inner);
        assert.ok(l, `${where}: malformed labels`);
        const [, k = '', v = ''] = l;
        assert.ok(!(k in labels), `${where}: label ${k} twice`);
        labels[k] = v.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
      }
    }
    const family = types.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
    assert.ok(types.has(family), `${where}: no TYPE for ${name}`);
    if (family !== name) assert.equal(types.get(family), 'histogram', where);
    const id = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    assert.ok(!seen.has(id), `${where}: series twice`);
    seen.add(id);
    samples.push({ name, labels, value: Number(value), text: value });
  }
  return samples;
}

/** The one sample of `name` whose labels include `labels`. */
export function sampleOf(
  samples: readonly Sample[],
  name: string,
  labels: Readonly<Record<string, string>> = {},
): Sample {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  assert.equal(found.length, 1, `one ${name} ${JSON.stringify(labels)}, found ${found.length}`);
  return found[0] as Sample;
}
