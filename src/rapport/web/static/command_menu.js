/* The command menu (Ctrl/⌘-K or the top bar's button) and the shortcuts sheet (?).
   Its lines are rendered by the shell (web/_command_menu.html) from the domains' registered
   commands, the nav and the settings pages; records come from global search as one types.
   A modal <dialog> keeps focus inside; the input is an ARIA combobox over the listbox. */
(function () {
  "use strict";

  var dialog = document.querySelector("[data-command-menu]");
  var sheet = document.querySelector("[data-shortcuts]");
  if (!dialog) return;
  var input = dialog.querySelector("#command-input");
  var list = dialog.querySelector("#command-list");
  var recordsLabel = list.querySelector('[data-group-label="Records"]');
  var empty = dialog.querySelector("[data-command-empty]");
  var opener = null;
  var searchTimer = null;
  var searchSeq = 0;

  function isTyping(el) {
    return !!el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }

  // The record page the member is on ("person", "company", "deal"), from its quick-log form.
  function currentRecord() {
    var form = document.querySelector("[data-quick-log]");
    return form ? form.getAttribute("data-record-kind") : "";
  }

  function words(text) {
    return text.toLowerCase().split(/\s+/).filter(Boolean);
  }

  function matches(item, query) {
    if (!query.length) return true;
    var hay = (item.textContent + " " + (item.getAttribute("data-keywords") || "") + " " +
               (item.getAttribute("data-command-group") || "")).toLowerCase();
    return query.every(function (w) { return hay.indexOf(w) >= 0; });
  }

  function options() {
    return Array.prototype.filter.call(list.querySelectorAll('[role="option"]'), function (o) {
      return !o.hidden;
    });
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

  function selectedIndex() {
    return options().findIndex(function (o) { return o.getAttribute("aria-selected") === "true"; });
  }

  function filter() {
    var query = words(input.value);
    var record = currentRecord();
    list.querySelectorAll(".command-item:not(.command-record)").forEach(function (item) {
      var on = item.getAttribute("data-on");
      var applies = !on || (record && on.split(" ").indexOf(record) >= 0);
      item.hidden = !(applies && matches(item, query));
    });
    list.querySelectorAll("[data-group-label]").forEach(function (label) {
      if (label === recordsLabel) return;
      var group = label.getAttribute("data-group-label");
      var visible = list.querySelector('.command-item[data-command-group="' + group + '"]:not([hidden])');
      label.hidden = !visible;
    });
    var hasRecords = !!list.querySelector(".command-record") && input.value.trim().length > 1;
    recordsLabel.hidden = !hasRecords;
    empty.hidden = options().length > 0;
    select(options().length ? 0 : -1);
  }

  // Records: the search page's dropdown fragment, read into options of our own.
  function clearRecords() {
    list.querySelectorAll(".command-record").forEach(function (li) { li.remove(); });
  }

  function searchRecords() {
    var q = input.value.trim();
    var seq = ++searchSeq;
    if (q.length < 2) {
      clearRecords();
      filter();
      return;
    }
    fetch("/search?q=" + encodeURIComponent(q), {
      headers: { "HX-Request": "true" }, credentials: "same-origin"
    }).then(function (response) {
      return response.ok ? response.text() : "";
    }).then(function (html) {
      if (seq !== searchSeq) return;
      var doc = new DOMParser().parseFromString(html, "text/html");
      var found = [];
      doc.querySelectorAll("a.search-result").forEach(function (a, i) {
        var href = a.getAttribute("href");
        if (!href || href === "#") return;
        var group = a.closest(".search-group");
        var kind = group ? group.querySelector(".search-group-label").textContent : "";
        var li = document.createElement("li");
        li.className = "command-item command-record";
        li.setAttribute("role", "option");
        li.id = "command-record-" + i;
        li.setAttribute("aria-selected", "false");
        li.setAttribute("data-href", href);
        li.setAttribute("data-record", "");
        var title = document.createElement("span");
        title.className = "command-label";
        title.textContent = (a.querySelector(".result-title") || a).textContent.trim();
        var sub = document.createElement("span");
        sub.className = "command-sub muted";
        var subtitle = a.querySelector(".result-sub");
        sub.textContent = kind + (subtitle ? " · " + subtitle.textContent.trim() : "");
        li.append(title, sub);
        found.push(li);
      });
      clearRecords();
      recordsLabel.after.apply(recordsLabel, found);
      var keep = selectedIndex();
      filter();
      // records first: when they arrive, the first record is chosen unless the member moved
      if (keep > 0) select(keep);
    }).catch(function () { /* offline: the actions still work */ });
  }

  function run(option) {
    if (!option) return;
    var href = option.getAttribute("data-href");
    close();
    if (href.charAt(0) === "#") {
      var form = document.querySelector("[data-quick-log]");
      if (!form) return;
      var kind = href === "#log-note" ? "note" : "call";
      var radio = form.querySelector('input[name="kind"][value="' + kind + '"]');
      if (radio) {
        radio.checked = true;
        radio.dispatchEvent(new Event("change", { bubbles: true }));
      }
      form.scrollIntoView({ block: "center" });
      var field = form.querySelector('input[name="subject"], textarea[name="body"]');
      if (field) field.focus();
      return;
    }
    window.location.assign(href);
  }

  function open() {
    if (dialog.open) return;
    if (sheet && sheet.open) sheet.close();
    opener = document.activeElement;
    input.value = "";
    clearRecords();
    filter();
    dialog.showModal();
    input.focus();
  }

  function close() {
    if (!dialog.open) return;
    dialog.close();
  }

  dialog.addEventListener("close", function () {
    if (opener && typeof opener.focus === "function" && document.contains(opener)) opener.focus();
    opener = null;
  });

  input.addEventListener("input", function () {
    filter();
    clearTimeout(searchTimer);
    searchTimer = setTimeout(searchRecords, 150);
  });

  input.addEventListener("keydown", function (event) {
    var opts = options();
    var current = selectedIndex();
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!opts.length) return;
      var step = event.key === "ArrowDown" ? 1 : -1;
      select(current < 0 ? 0 : (current + step + opts.length) % opts.length);
    } else if (event.key === "Home" && opts.length) {
      event.preventDefault();
      select(0);
    } else if (event.key === "End" && opts.length) {
      event.preventDefault();
      select(opts.length - 1);
    } else if (event.key === "Enter") {
      event.preventDefault();
      run(opts[current]);
    } else if (event.key === "Tab") {
      event.preventDefault(); // the input is the dialog's one stop: focus stays here
    }
  });

  list.addEventListener("mousemove", function (event) {
    var option = event.target.closest('[role="option"]');
    if (option) select(options().indexOf(option));
  });
  list.addEventListener("click", function (event) {
    run(event.target.closest('[role="option"]'));
  });
  dialog.addEventListener("click", function (event) {
    if (event.target === dialog) close(); // a click on the backdrop
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-command-open]")) open();
    if (event.target.closest("[data-shortcuts-close]") && sheet) sheet.close();
  });
  if (sheet) {
    sheet.addEventListener("click", function (event) {
      if (event.target === sheet) sheet.close();
    });
  }

  document.addEventListener("keydown", function (event) {
    var key = event.key.toLowerCase();
    if (key === "k" && (event.ctrlKey || event.metaKey) && !event.altKey) {
      event.preventDefault();
      if (dialog.open) close();
      else open();
    } else if (event.key === "?" && !event.ctrlKey && !event.metaKey && !isTyping(event.target)) {
      if (!sheet || dialog.open) return;
      event.preventDefault();
      if (!sheet.open) sheet.showModal();
    }
  });
})();
