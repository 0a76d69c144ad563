// Behaviour for every page, loaded as a file (the CSP allows no inline script).

// Panels that fold (<details data-open-wide>) stand open where there is room beside the
// content (wide screens) unless the person folded them there; on a phone they start folded.
// Run now, before the page is first shown, rather than once it has loaded.
(() => {
  const wide = window.matchMedia("(min-width: 1200px)");
  const remembered = (key) => { try { return window.localStorage.getItem(key); } catch { return null; } };
  const remember = (key, value) => { try { window.localStorage.setItem(key, value); } catch { /* private mode */ } };
  document.querySelectorAll("details[data-open-wide]").forEach((panel) => {
    const key = "portal.folded." + (panel.closest("[data-testid]")?.dataset.testid || "panel");
    if (wide.matches && remembered(key) !== "1") panel.open = true;
    panel.querySelector("summary")?.addEventListener("click", () => {
      if (wide.matches) remember(key, panel.open ? "1" : "0");  // clicked while open: it folds
    });
  });
})();
document.addEventListener("DOMContentLoaded", () => {
  // Ask before an action marked as destructive.
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });

  // Print buttons, and "select all" boxes ticking every box named by data-select-all.
  document.querySelectorAll("[data-print]").forEach((button) => {
    button.addEventListener("click", () => window.print());
  });
  document.querySelectorAll("[data-select-all]").forEach((box) => {
    box.addEventListener("change", () => {
      document.querySelectorAll(`input[type=checkbox][name="${box.dataset.selectAll}"]`).forEach((other) => {
        other.checked = box.checked;
      });
    });
  });

  // Uploads show how far they have got; the answer then replaces the page as a normal
  // form submission would (the server's page is complete HTML).
  document.querySelectorAll("form[data-upload-progress]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.XMLHttpRequest || !window.FormData) return;
      event.preventDefault();
      const box = form.querySelector(".progress");
      const bar = box.querySelector(".progress-bar");
      const checking = form.querySelector("[data-checking]");
      form.querySelector("button[type=submit]").disabled = true;
      box.classList.remove("d-none");
      bar.style.width = "0%";
      const request = new XMLHttpRequest();
      request.open("POST", form.action || window.location.href);
      request.upload.addEventListener("progress", (progress) => {
        if (!progress.lengthComputable) return;
        const percent = Math.round((100 * progress.loaded) / progress.total);
        bar.style.width = percent + "%";
        box.setAttribute("aria-valuenow", String(percent));
        if (percent === 100) checking.classList.remove("d-none");
      });
      request.addEventListener("load", () => {
        document.open();
        document.write(request.responseText);
        document.close();
      });
      request.addEventListener("error", () => form.submit());
      request.send(new FormData(form));
    });
  });
});
