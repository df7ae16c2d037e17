// Print buttons (no inline handlers: the pages' CSP allows scripts from this origin only).
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("[data-print]")) {
    button.addEventListener("click", () => window.print());
  }
});
