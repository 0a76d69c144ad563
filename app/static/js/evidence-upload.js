// The evidence upload page (evidence/upload.html): every file dropped or chosen is sent at
// once on its own request, with its own progress bar, and becomes its own document with a
// card holding its details form and criteria. While the server reads the file's text the
// card says so; then empty fields are filled with what the first page says, for the user to
// confirm, and the criteria the text suggests are offered. Without this script the page is
// a plain form that uploads one document.
(() => {
  "use strict";

  // Criteria pickers (here and on the link page): a filter box that hides the criteria whose
  // code and title do not hold every typed word (typed with or without diacritics).
  const fold = (text) => text.replace(/đ/g, "d").replace(/Đ/g, "D").normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "").toLowerCase();
  const setUpPicker = (picker) => {
    const filter = picker.querySelector("[data-criteria-filter]");
    if (!filter) return;
    filter.hidden = false;
    filter.addEventListener("input", () => {
      const words = fold(filter.value).split(/\s+/).filter(Boolean);
      picker.querySelectorAll("[data-criteria-group]").forEach((group) => {
        let shown = 0;
        group.querySelectorAll("[data-criterion-option]").forEach((option) => {
          const match = words.every((word) => option.dataset.words.includes(word));
          option.hidden = !match;
          if (match) shown += 1;
        });
        group.hidden = shown === 0;
      });
    });
    filter.addEventListener("keydown", (event) => {
      if (event.key === "Enter") event.preventDefault();  // never submits the card
    });
  };
  document.querySelectorAll("[data-criteria-picker]").forEach((picker) => {
    if (!picker.closest("template")) setUpPicker(picker);
  });

  const page = document.querySelector("[data-evidence-upload]");
  const template = document.getElementById("evidence-card");
  if (!page || !template || !window.XMLHttpRequest || !window.FormData) return;

  const say = page.dataset;
  const cards = page.querySelector("[data-cards]");
  const drop = page.querySelector("[data-drop-area]");
  const input = drop.querySelector("input[type=file]");
  const POLL_MS = 1500;
  const POLL_LIMIT = 80;  // about two minutes
  const number = new Intl.NumberFormat(document.documentElement.lang || "vi", { maximumFractionDigits: 1 });
  let counter = 0;

  page.querySelectorAll("[data-plain-only]").forEach((part) => { part.hidden = true; });
  page.querySelectorAll("[data-js-only]").forEach((part) => { part.hidden = false; });

  const humanSize = (bytes) => {
    if (bytes < 1024) return `${bytes} B`;
    let value = bytes;
    for (const unit of ["KB", "MB", "GB"]) {
      value /= 1024;
      if (value < 1024 || unit === "GB") return `${number.format(value)} ${unit}`;
    }
    return `${bytes} B`;
  };
  const parse = (text) => { try { return JSON.parse(text); } catch { return null; } };

  const send = (method, url, body, onDone, onProgress) => {
    const request = new XMLHttpRequest();
    request.open(method, url);
    request.setRequestHeader("Accept", "application/json");
    request.setRequestHeader("X-CSRFToken", say.csrf);
    if (onProgress) request.upload.addEventListener("progress", onProgress);
    request.addEventListener("load", () => onDone(request.status, parse(request.responseText)));
    request.addEventListener("error", () => onDone(0, null));
    request.send(body);
  };

  // The message for an answer that is not the expected JSON (an HTML error page).
  const fallback = (status, name) => {
    // A function as the replacement: "$&" or "$'" in a file name are its own characters.
    if (status === 0) return say.msgNetwork.replace("{name}", () => name);
    if (status === 413) return say.msgTooLarge.replace("{name}", () => name);
    if (status === 400) return say.msgExpired;
    return say.msgServer;
  };

  const newCard = (file) => {
    counter += 1;
    const holder = document.createElement("div");
    holder.innerHTML = template.innerHTML.replaceAll("__N__", String(counter));
    const card = holder.firstElementChild;
    card.querySelector("[data-filename]").textContent = file.name;
    card.querySelector("[data-size]").textContent = humanSize(file.size);
    cards.append(card);
    return card;
  };

  const setStatus = (card, text, failed = false) => {
    const status = card.querySelector("[data-status]");
    status.textContent = text;
    status.classList.toggle("text-danger", failed);
    status.classList.toggle("fw-semibold", failed);
  };

  const fail = (card, message) => {
    card.classList.add("border-danger");
    card.querySelector("[data-progress]").hidden = true;
    setStatus(card, message, true);
  };

  const upload = (file) => {
    const card = newCard(file);
    const bar = card.querySelector("[data-progress]");
    if (file.size > Number(say.maxBytes)) {
      fail(card, say.msgTooLarge.replace("{name}", () => file.name));
      return;
    }
    setStatus(card, say.msgUploading);
    const body = new FormData();
    body.append("file", file, file.name);
    send("POST", say.uploadUrl, body, (status, answer) => {
      if (status === 201 && answer && answer.id) {
        bar.value = bar.max;
        uploaded(card, answer);
      } else {
        fail(card, (answer && answer.message) || fallback(status, file.name));
      }
    }, (progress) => {
      if (!progress.lengthComputable) return;
      bar.max = progress.total;
      bar.value = progress.loaded;
    });
  };

  const field = (form, name) => form.querySelector(`[name="${name}"]`);

  const uploaded = (card, answer) => {
    const form = card.querySelector("[data-card-form]");
    form.action = answer.details_url;
    field(form, "version").value = answer.version;
    field(form, "title").value = answer.title;
    card.querySelector("[data-record-link]").href = answer.url_of_record;
    form.querySelectorAll("[data-criteria-picker]").forEach(setUpPicker);
    form.querySelectorAll("input, select, textarea").forEach((control) => {
      control.addEventListener("input", () => {  // a value the user typed is no longer a suggestion
        const hint = form.querySelector(`[data-hint-for="${control.name}"]`);
        if (hint) hint.hidden = true;
        card.querySelector("[data-saved]").textContent = "";
      });
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      save(card, form);
    });
    form.hidden = false;
    setStatus(card, `${say.msgUploaded} ${say.msgReading}`);
    poll(card, form, answer.status_url, 0);
  };

  const poll = (card, form, url, count) => {
    if (count >= POLL_LIMIT) {
      setStatus(card, `${say.msgUploaded} ${say.msgReadSlow}`);
      return;
    }
    window.setTimeout(() => {
      send("GET", url, null, (status, answer) => {
        if (status !== 200 || !answer) {
          poll(card, form, url, count + 1);
          return;
        }
        if (answer.pending) {
          poll(card, form, url, count + 1);
          return;
        }
        setStatus(card, `${say.msgUploaded} ${answer.label}.`);
        suggest(card, form, answer);
      });
    }, POLL_MS);
  };

  // What the first page says fills the fields left empty (the type while still "other"),
  // marked as suggestions; the suggested criteria become buttons that tick their box.
  const suggest = (card, form, answer) => {
    const found = answer.found || {};
    for (const name of ["number", "issued_on", "issuer", "doc_type"]) {
      const control = field(form, name);
      const value = found[name];
      if (!control || !value) continue;
      const empty = name === "doc_type" ? control.value === "other" : control.value.trim() === "";
      if (!empty || (name === "doc_type" && !control.querySelector(`option[value="${value}"]`))) continue;
      control.value = value;
      const hint = form.querySelector(`[data-hint-for="${name}"]`);
      if (hint) hint.hidden = false;
    }
    const place = form.querySelector("[data-suggestions]");
    for (const suggestion of answer.suggestions || []) {
      const box = form.querySelector(`input[name="criteria"][value="${suggestion.code}"]`);
      if (!box) continue;
      const button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-sm btn-outline-primary suggestion";
      button.textContent = `${suggestion.code} ${suggestion.title}`;
      const show = () => {
        button.setAttribute("aria-pressed", box.checked ? "true" : "false");
        button.classList.toggle("active", box.checked);
      };
      button.addEventListener("click", () => {
        box.checked = !box.checked;
        show();
      });
      box.addEventListener("change", show);
      show();
      place.append(" ", button);
      place.hidden = false;
    }
  };

  const showErrors = (form, fields, message) => {
    form.querySelectorAll("[data-error-for]").forEach((slot) => {
      const control = field(form, slot.dataset.errorFor);
      const text = fields[slot.dataset.errorFor] || "";
      slot.textContent = text;
      slot.hidden = !text;
      if (control && control.type !== "checkbox") {
        control.classList.toggle("is-invalid", Boolean(text));
        if (text) control.setAttribute("aria-invalid", "true"); else control.removeAttribute("aria-invalid");
      }
    });
    const known = new Set([...form.querySelectorAll("[data-error-for]")].map((slot) => slot.dataset.errorFor));
    const others = Object.entries(fields).filter(([name]) => !known.has(name)).map(([, text]) => text);
    const general = form.querySelector("[data-form-error]");
    const text = message ? [message, ...others].join(" ") : others.join(" ");
    general.textContent = text;
    general.hidden = !text;
  };

  const save = (card, form) => {
    const button = form.querySelector("button[type=submit]");
    const saved = card.querySelector("[data-saved]");
    button.disabled = true;
    saved.textContent = say.msgSaving;
    send("POST", form.action, new FormData(form), (status, answer) => {
      button.disabled = false;
      saved.textContent = "";
      if (answer && answer.version) field(form, "version").value = answer.version;
      if (status === 200 && answer) {
        showErrors(form, {}, "");
        card.classList.remove("border-danger");
        card.classList.add("border-success");
        saved.textContent = answer.codes && answer.codes.length
          ? `${answer.message} ${say.msgCodes} ${answer.codes.join(", ")}` : answer.message;
        card.querySelector("[data-filename]").textContent = answer.title;
        return;
      }
      if (answer && answer.fields) {
        const hasFields = Object.keys(answer.fields).length > 0;
        showErrors(form, answer.fields, hasFields ? "" : answer.message);
        const first = form.querySelector(".is-invalid");
        if (first) first.focus();
        return;
      }
      showErrors(form, {}, fallback(status, card.querySelector("[data-filename]").textContent));
    });
  };

  const start = (files) => { [...files].forEach(upload); };

  input.addEventListener("change", () => {
    start(input.files);
    input.value = "";  // the same file may be chosen again
  });
  // Files dropped anywhere on the page are uploaded (the browser would otherwise open them).
  ["dragenter", "dragover"].forEach((name) => document.addEventListener(name, (event) => {
    if (![...(event.dataTransfer?.types || [])].includes("Files")) return;
    event.preventDefault();
    drop.classList.add("drop-area-active");
  }));
  ["dragleave", "dragend"].forEach((name) => document.addEventListener(name, (event) => {
    if (event.target === document.documentElement || event.target === drop || !event.relatedTarget) {
      drop.classList.remove("drop-area-active");
    }
  }));
  document.addEventListener("drop", (event) => {
    if (!event.dataTransfer?.files?.length) return;
    event.preventDefault();
    drop.classList.remove("drop-area-active");
    start(event.dataTransfer.files);
  });
})();
