/**
 * The result type the Price List import passes between its steps: a value, or the reason a row or group cannot be
 * used. A reason becomes a skipped row for a person to read; it is never thrown.
 */

export type Outcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: string };
export const ok = <T>(value: T): Outcome<T> => ({ ok: true, value });
export const fail = (reason: string): { readonly ok: false; readonly reason: string } => ({
  ok: false,
  reason,
});
