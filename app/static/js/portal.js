// Behaviour for every page, loaded as a file (the CSP allows no inline script).
document.addEventListener("DOMContentLoaded", () => {
  // Ask before an action marked as destructive.
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
});
