/**
 * Splits a file into JSON documents with the line each starts on: one JSON value (an object, or an array whose
 * elements are located by line), else NDJSON (one value per line; an array on a line is its elements). Text that
 * is neither is one reject.
 */

export interface Located {
  readonly value: unknown;
  readonly line: number;
}

/** One JSON value (an object, or an array whose elements are located by line) or NDJSON. */
export function documentsOf(
  text: string,
  reject: (line: number, reason: string) => void,
): Located[] {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body.trim() === '') return [];
  let whole: unknown;
  try {
    whole = JSON.parse(body);
  } catch (e: unknown) {
    const firstLine = body.split('\n').findIndex((l) => l.trim() !== '');
    const first = body.split('\n')[firstLine] ?? '';
    if (!parses(first)) {
      reject(errorLine(body, e), `not valid JSON: ${errorText(e)}`);
      return [];
    }
    return ndjson(body, reject);
  }
  const start = lineAt(body, body.search(/\S/));
  if (!Array.isArray(whole)) return [{ value: whole, line: start }];
  const lines = topLevelElementLines(body);
  return whole.map((value, i) => ({ value, line: lines[i] ?? start }));
}

function ndjson(body: string, reject: (line: number, reason: string) => void): Located[] {
  const docs: Located[] = [];
  body.split('\n').forEach((raw, i) => {
    const lineText = raw.trim();
    if (lineText === '') return;
    try {
      const value: unknown = JSON.parse(lineText);
      if (Array.isArray(value)) for (const v of value) docs.push({ value: v, line: i + 1 });
      else docs.push({ value, line: i + 1 });
    } catch (e: unknown) {
      reject(i + 1, `not valid JSON: ${errorText(e)}`);
    }
  });
  return docs;
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function errorText(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).slice(0, 200);
}

function errorLine(text: string, e: unknown): number {
  const position = /position (\d+)/.exec(e instanceof Error ? e.message : '')?.[1];
  return position === undefined ? 1 : lineAt(text, Number(position));
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** The line on which each element of a top-level JSON array starts (the text is valid JSON). */
function topLevelElementLines(text: string): number[] {
  const lines: number[] = [];
  let line = 1;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let expectValue = false;
  for (const ch of text) {
    if (ch === '\n') line++;
    if (inString) {
      if (escaped) escaped = false;
      else if (ch === '\\') escaped = true;
      else if (ch === '"') inString = false;
      continue;
    }
    if (depth === 1 && expectValue && !/[\s,\]]/.test(ch)) {
      lines.push(line);
      expectValue = false;
    }
    if (ch === '"') inString = true;
    else if (ch === '[' || ch === '{') {
      depth++;
      if (depth === 1) expectValue = true;
    } else if (ch === ']' || ch === '}') depth--;
    else if (ch === ',' && depth === 1) expectValue = true;
  }
  return lines;
}

/** A query that names one series, or why it cannot. */
