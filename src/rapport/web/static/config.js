/* The workspace configuration pages of the settings area.
   - A list with [data-sortable-form="<form id>"] reorders by drag (SortableJS): on drop, the
     form gets one "order" input per row (its data-id, in the new order) and is submitted.
     The up/down buttons next to each row do the same without a mouse.
   - A button with [data-copy="<element id>"] copies that element's text (the embed snippet).
   - A form with [data-confirm="<question>"] is sent only once the question is accepted. */
(function () {
  "use strict";

  function armSortable(root) {
    if (typeof Sortable === "undefined") return;
    root.querySelectorAll("[data-sortable-form]").forEach(function (list) {
      if (list.dataset.armed) return;
      list.dataset.armed = "1";
      Sortable.create(list, {
        handle: ".drag-handle",
        draggable: "[data-id]",
        animation: 150,
        onEnd: function (event) {
          if (event.oldIndex === event.newIndex) return;
          var form = document.getElementById(list.dataset.sortableForm);
          if (!form) return;
          form.querySelectorAll("input[name=order]").forEach(function (old) { old.remove(); });
          list.querySelectorAll("[data-id]").forEach(function (row) {
            var input = document.createElement("input");
            input.type = "hidden";
            input.name = "order";
            input.value = row.dataset.id;
            form.appendChild(input);
          });
          form.submit();
        }
      });
    });
  }

  function copy(button) {
    var source = document.getElementById(button.dataset.copy);
    if (!source) return;
    var text = source.value !== undefined ? source.value : source.textContent;
    var done = function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallback(source); done(); });
    } else {
      fallback(source);
      done();
    }
  }

  function fallback(source) {
    if (source.select) {
      source.select();
      try { document.execCommand("copy"); } catch (e) { /* the text stays selected */ }
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    if (button) {
      event.preventDefault();
      copy(button);
    }
  });

  // A form with data-confirm asks first (deleting a rule).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });

  document.addEventListener("DOMContentLoaded", function () { armSortable(document); });
})();
