/** Exit codes, documented in the README. */
export const EXIT = { ok: 0, error: 1, usage: 2, partial: 3, interrupted: 130 } as const;
