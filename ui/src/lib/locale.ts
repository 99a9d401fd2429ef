// WebKitGTK reports the POSIX locale as `navigator.language = "C"` when LANG is unset (a CI
// machine, a minimal desktop), and `Intl` throws on that tag — uPlot formats numbers with it at
// load time. Fall back to a valid tag before anything else runs.
function valid(tag: string): boolean {
  try {
    new Intl.NumberFormat(tag);
    return true;
  } catch {
    return false;
  }
}

if (!valid(navigator.language)) {
  Object.defineProperty(navigator, "language", { get: () => "en-US" });
  Object.defineProperty(navigator, "languages", { get: () => ["en-US"] });
}
