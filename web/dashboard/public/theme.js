// Applies the saved theme before the first paint, so a dark page never flashes white.
// (A file rather than an inline script, so the page's CSP can forbid inline scripts.)
try {
  const saved = localStorage.getItem("beacon_theme");
  if (saved === "dark" || saved === "light") document.documentElement.dataset.theme = saved;
} catch {
  // Storage blocked: the system's colour scheme applies.
}
