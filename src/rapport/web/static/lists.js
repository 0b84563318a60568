/* Lists: "Select all N matching" in the bulk bar. Once every loaded row is ticked, the bar
   offers the whole filter; choosing it sets scope=all (the server re-runs the filter) and the
   counts say N. Touching any row goes back to the ticked rows. Runs after app.js's own
   bulk-selection handlers (same events, registered later). */
(function () {
  "use strict";

  function update(form, all) {
    var scope = form.querySelector("[data-bulk-scope]");
    var link = form.querySelector("[data-bulk-matching]");
    if (!scope || !link) return;
    if (all !== undefined) scope.value = all ? "all" : "";
    var rows = form.querySelectorAll("[data-bulk-row]");
    var checked = form.querySelectorAll("[data-bulk-row]:checked").length;
    var whole = checked > 0 && checked === rows.length;
    if (!whole) scope.value = "";
    var on = scope.value === "all";
    link.hidden = !whole || on;
    if (on) {
      form.querySelectorAll("[data-bulk-count]").forEach(function (el) { el.textContent = link.dataset.total; });
    }
  }

  document.addEventListener("change", function (event) {
    var form = event.target.closest("[data-bulk]");
    if (form && event.target.matches("[data-bulk-all], [data-bulk-row]")) update(form, false);
  });
  document.addEventListener("click", function (event) {
    var form = event.target.closest("[data-bulk]");
    if (!form) return;
    if (event.target.closest("[data-bulk-matching]")) {
      update(form, true);
    } else if (event.target.closest("[data-bulk-clear]")) {
      update(form, false);
    }
  });
  document.addEventListener("htmx:afterSettle", function () {
    document.querySelectorAll("[data-bulk]").forEach(function (form) {
      // Rows loaded by scrolling come unticked: the selection is the ticked rows again.
      var all = form.querySelector("[data-bulk-all]");
      var rows = form.querySelectorAll("[data-bulk-row]");
      var checked = form.querySelectorAll("[data-bulk-row]:checked").length;
      if (all && all.checked && checked < rows.length) {
        rows.forEach(function (box) { box.checked = true; });
        form.querySelectorAll("[data-bulk-count]").forEach(function (el) { el.textContent = String(rows.length); });
      }
      update(form);
    });
  });
})();
