/* Rapport: small behaviours on top of server-rendered pages and htmx. No framework, no eval. */
(function () {
  "use strict";

  var TOAST_MS = { success: 4000, info: 5000, error: 9000 };
  var CLOSE_ICON =
    '<svg class="icon" width="14" height="14" viewBox="0 0 24 24" fill="none" stroke="currentColor" ' +
    'stroke-width="1.75" stroke-linecap="round" aria-hidden="true"><path d="M6 6l12 12M18 6L6 18"/></svg>';

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function isTyping(el) {
    return !!el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }

  // ---- CSRF: every htmx request carries the session's token (checked on unsafe methods) ----
  document.addEventListener("htmx:configRequest", function (event) {
    var token = csrfToken();
    if (token) event.detail.headers["X-CSRF-Token"] = token;
  });

  // ---- Toasts ---------------------------------------------------------------------------
  function dismissToast(el) {
    if (!el || el.classList.contains("is-leaving")) return;
    el.classList.add("is-leaving");
    setTimeout(function () { el.remove(); }, 220);
  }

  function armToasts(root) {
    (root || document).querySelectorAll("[data-toast]:not([data-armed])").forEach(function (el) {
      el.setAttribute("data-armed", "");
      var kind = (el.className.match(/toast-(\w+)/) || [])[1] || "info";
      // A toast with a button (Undo) stays long enough to reach for it.
      var ms = el.hasAttribute("data-toast-long") ? 12000 : TOAST_MS[kind] || 5000;
      setTimeout(function () { dismissToast(el); }, ms);
    });
  }

  function showToast(message, kind) {
    var region = document.getElementById("toasts");
    if (!region) return;
    var el = document.createElement("div");
    el.className = "toast toast-" + (kind || "info");
    el.setAttribute("data-toast", "");
    var text = document.createElement("span");
    text.className = "toast-text";
    text.textContent = message;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("data-toast-close", "");
    close.setAttribute("aria-label", "Dismiss");
    close.innerHTML = CLOSE_ICON;
    el.append(text, close);
    region.append(el);
    armToasts(region);
  }

  window.Rapport = { toast: showToast, csrfToken: csrfToken };

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-toast-close]");
    if (button) dismissToast(button.closest("[data-toast]"));
  });

  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var message = "Something went wrong (" + xhr.status + "). Please try again.";
    try {
      var problem = JSON.parse(xhr.responseText);
      if (problem && (problem.detail || problem.title)) message = problem.detail || problem.title;
    } catch (_ignored) { /* not a problem document */ }
    showToast(message, "error");
  });
  document.addEventListener("htmx:sendError", function () {
    showToast("Rapport could not be reached. Check your connection.", "error");
  });

  // ---- Menus (<details data-menu>): close on outside click and Esc -------------------------
  function closeMenus(except) {
    document.querySelectorAll("details[data-menu][open]").forEach(function (menu) {
      if (menu !== except) menu.removeAttribute("open");
    });
  }
  document.addEventListener("click", function (event) {
    closeMenus(event.target.closest("details[data-menu]"));
  });
  // An open menu's panel stays inside the window: a menu near the right edge (the list's
  // custom-field filter, Columns) would otherwise be cut off by it.
  document.addEventListener("toggle", function (event) {
    var menu = event.target;
    if (!menu.matches || !menu.matches("details[data-menu]") || !menu.open) return;
    var panel = menu.querySelector(".menu-panel");
    if (!panel) return;
    panel.style.transform = "";
    var rect = panel.getBoundingClientRect();
    var room = document.documentElement.clientWidth - 8;
    var shift = 0;
    if (rect.right > room) shift = room - rect.right;
    if (rect.left + shift < 8) shift = 8 - rect.left;
    if (shift) panel.style.transform = "translateX(" + Math.round(shift) + "px)";
  }, true);

  // ---- Global search: combobox with a listbox of results -----------------------------------
  var input = document.getElementById("global-search");
  var box = document.getElementById("search-results");

  function options() {
    return box ? Array.prototype.slice.call(box.querySelectorAll('[role="option"]')) : [];
  }
  function hasResults() {
    return !!box && box.children.length > 0 && input.value.trim() !== "";
  }
  function setOpen(open) {
    if (!box) return;
    box.hidden = !open;
    input.setAttribute("aria-expanded", String(open));
    if (!open) input.removeAttribute("aria-activedescendant");
  }
  function selectedIndex() {
    return options().findIndex(function (o) { return o.getAttribute("aria-selected") === "true"; });
  }
  function select(index) {
    var opts = options();
    opts.forEach(function (o, i) { o.setAttribute("aria-selected", String(i === index)); });
    if (opts[index]) {
      input.setAttribute("aria-activedescendant", opts[index].id);
      opts[index].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  if (input && box) {
    document.addEventListener("htmx:afterSwap", function (event) {
      if (event.detail.target !== box) return;
      var open = hasResults() && document.activeElement === input;
      setOpen(open);
      if (open) select(0);
    });
    input.addEventListener("focus", function () {
      if (hasResults()) setOpen(true);
    });
    input.addEventListener("keydown", function (event) {
      var opts = options();
      var current = selectedIndex();
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        if (!opts.length) return;
        event.preventDefault();
        setOpen(true);
        var step = event.key === "ArrowDown" ? 1 : -1;
        select(current < 0 ? (step > 0 ? 0 : opts.length - 1) : (current + step + opts.length) % opts.length);
      } else if (event.key === "Enter") {
        if (!box.hidden && current >= 0 && opts[current].getAttribute("href") !== "#") {
          event.preventDefault();
          window.location.assign(opts[current].href);
        }
      } else if (event.key === "Escape") {
        event.preventDefault();
        if (!box.hidden) setOpen(false);
        else if (input.value) input.value = "";
        else input.blur();
      }
    });
    box.addEventListener("mousemove", function (event) {
      var option = event.target.closest('[role="option"]');
      if (option) select(options().indexOf(option));
    });
    document.addEventListener("click", function (event) {
      if (!event.target.closest("[data-search]")) setOpen(false);
    });
  }

  // ---- Keyboard shortcuts ---------------------------------------------------------------
  document.addEventListener("keydown", function (event) {
    if (event.key === "/" && !event.ctrlKey && !event.metaKey && !event.altKey && !isTyping(event.target)) {
      if (input) {
        event.preventDefault();
        input.focus();
        input.select();
      }
    } else if (event.key === "Escape") {
      var open = document.querySelector("details[data-menu][open]");
      if (open) {
        open.removeAttribute("open");
        open.querySelector("summary").focus();
      }
    }
  });

  document.addEventListener("htmx:afterSettle", function () { armToasts(document); });
  armToasts(document);
})();

/* Forms that log something clear themselves once the server took it; times show locally. */
(function () {
  "use strict";

  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (event.detail.successful && form instanceof HTMLFormElement && form.hasAttribute("data-reset-on-success")) {
      form.reset();
    }
  });

  var formats = {
    date: new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", year: "numeric" }),
    datetime: new Intl.DateTimeFormat(undefined, {
      day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit"
    })
  };
  function localiseTimes(root) {
    root.querySelectorAll("time[data-local]:not([data-localised])").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      var format = formats[el.getAttribute("data-local")] || formats.datetime;
      if (!isNaN(when)) {
        el.textContent = format.format(when);
        el.setAttribute("title", when.toString());
      }
      el.setAttribute("data-localised", "");
    });
  }
  document.addEventListener("htmx:afterSettle", function () { localiseTimes(document); });
  localiseTimes(document);
})();

/* Bulk selection in lists: row checkboxes, select-all of the loaded rows, the action bar with
   the count, and a confirmation dialog before a bulk delete. */
(function () {
  "use strict";

  function refresh(form) {
    var rows = form.querySelectorAll("[data-bulk-row]");
    var checked = form.querySelectorAll("[data-bulk-row]:checked").length;
    form.querySelectorAll("[data-bulk-count]").forEach(function (el) { el.textContent = String(checked); });
    var bar = form.querySelector("[data-bulk-bar]");
    if (bar) bar.hidden = checked === 0;
    var all = form.querySelector("[data-bulk-all]");
    if (all) {
      all.checked = checked > 0 && checked === rows.length;
      all.indeterminate = checked > 0 && checked < rows.length;
    }
  }

  document.addEventListener("change", function (event) {
    var form = event.target.closest("[data-bulk]");
    if (!form) return;
    if (event.target.matches("[data-bulk-all]")) {
      var on = event.target.checked;
      form.querySelectorAll("[data-bulk-row]").forEach(function (box) { box.checked = on; });
    }
    if (event.target.matches("[data-bulk-all], [data-bulk-row]")) refresh(form);
  });

  document.addEventListener("click", function (event) {
    var form = event.target.closest("[data-bulk]");
    if (!form) return;
    if (event.target.closest("[data-bulk-clear]")) {
      form.querySelectorAll("[data-bulk-row]").forEach(function (box) { box.checked = false; });
      refresh(form);
    } else if (event.target.closest("[data-bulk-delete]")) {
      var dialog = form.querySelector("[data-bulk-confirm]");
      if (dialog && typeof dialog.showModal === "function") {
        dialog.showModal();
        var cancel = dialog.querySelector("[data-dialog-close]");
        if (cancel) cancel.focus();
      }
    } else if (event.target.closest("[data-dialog-close]")) {
      event.target.closest("dialog").close();
    }
  });

  function refreshAll() {
    document.querySelectorAll("[data-bulk]").forEach(refresh);
  }
  document.addEventListener("htmx:afterSettle", refreshAll);
  // The back button may restore checked boxes from the page cache.
  window.addEventListener("pageshow", refreshAll);
  refreshAll();
})();

/* The custom-field filter: offer only the operators the chosen field's type allows, and say
   what a value looks like. Runs in the capture phase, before htmx sends the list request. */
(function () {
  "use strict";

  function fit(select) {
    var panel = select.closest(".cf-panel");
    if (!panel) return;
    var chosen = select.options[select.selectedIndex];
    var ops = (chosen && chosen.getAttribute("data-ops") || "").split(" ").filter(Boolean);
    var opSelect = panel.querySelector("[data-cf-op]");
    var value = panel.querySelector("[data-cf-value]");
    if (opSelect) {
      var firstFit = null;
      Array.prototype.forEach.call(opSelect.options, function (option) {
        var ok = ops.length === 0 || ops.indexOf(option.value) >= 0;
        option.hidden = !ok;
        option.disabled = !ok;
        if (ok && firstFit === null) firstFit = option;
      });
      if (opSelect.selectedOptions[0] && opSelect.selectedOptions[0].disabled && firstFit) firstFit.selected = true;
    }
    if (value) value.placeholder = (chosen && chosen.getAttribute("data-hint")) || "";
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("[data-cf-field]")) fit(event.target);
  }, true);
  document.querySelectorAll("[data-cf-field]").forEach(fit);
})();
