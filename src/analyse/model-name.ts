/** Model names as people read them: the short form tables show, and the full ids it stands for. */

/**
 * A model id short enough for a table column: `anthropic.claude-sonnet-4-5-20250929-v1:0` → `claude-sonnet-4-5`.
 * Versions other than v1 stay (`claude-3-5-sonnet-v2`). CSV and JSON always carry the full id.
 */
export function shortModel(id: string): string {
  if (id.startsWith('arn:')) return id;
  const dot = id.indexOf('.');
  // Family names that say who made them lose the provider; others (deepseek.r1, cohere.embed-v4) keep it.
  const telling = /^(anthropic|amazon|meta|mistral|openai|qwen)$/.test(id.slice(0, dot));
  let s = dot > 0 && telling ? id.slice(dot + 1) : id;
  s = s
    .replace(/-v1(:\d+)?$/, '')
    .replace(/-(v\d+)(:\d+)?$/, '-$1')
    .replace(/-\d{8}(?=(-v\d+)?$)/, '');
  return s;
}
