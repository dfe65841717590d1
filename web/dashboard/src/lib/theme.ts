// Light or dark: follows the system until the user picks one, which is remembered.
export type ThemeChoice = "system" | "light" | "dark";

export function savedTheme(): ThemeChoice {
  const value = document.documentElement.dataset.theme;
  return value === "light" || value === "dark" ? value : "system";
}

export function applyTheme(choice: ThemeChoice): void {
  if (choice === "system") {
    delete document.documentElement.dataset.theme;
    localStorage.removeItem("beacon_theme");
  } else {
    document.documentElement.dataset.theme = choice;
    localStorage.setItem("beacon_theme", choice);
  }
}

/** Whether the page is dark right now (chosen, or by the system). */
export function isDark(): boolean {
  const choice = savedTheme();
  if (choice !== "system") return choice === "dark";
  return window.matchMedia?.("(prefers-color-scheme: dark)").matches ?? false;
}
