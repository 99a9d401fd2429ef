// Numbers for people. Floats from Rust may arrive as null (JSON has no NaN), so every helper
// takes `null`/`undefined` and shows "—".
type Maybe = number | null | undefined;

export const percent = (v: Maybe, digits = 1) => (v === null || v === undefined ? "—" : `${(v * 100).toFixed(digits)} %`);
export const fixed = (v: Maybe, digits = 2) => (v === null || v === undefined ? "—" : v.toFixed(digits));
export const bytes = (v: Maybe) =>
  v === null || v === undefined ? "—" : v >= 1024 ? `${(v / 1024).toFixed(1)} KiB` : `${v} B`;
