// Behaviour for every page, loaded as a file (the CSP allows no inline script).
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
