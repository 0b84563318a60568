/* The deals board: drag a card to another column (SortableJS); the server moves the deal and
   answers with the board re-rendered, totals included. A refused move (a stale card, a closed
   deal) also answers 200 with the board as it really is, so the card returns to where it
   belongs, and an error toast. */
(function () {
  "use strict";

  function board() {
    return document.getElementById("board");
  }

  function reload() {
    var el = board();
    if (!el) return;
    var query = new URLSearchParams({ pipeline: el.dataset.pipeline || "", owner: el.dataset.owner || "" });
    htmx.ajax("GET", "/deals?" + query.toString(), { source: el, target: "#board", swap: "outerHTML" });
  }

  function move(card, column) {
    var el = board();
    el.querySelector(".board").classList.add("is-saving");
    htmx.ajax("POST", "/deals/" + card.dataset.dealId + "/move", {
      source: el,
      target: "#board",
      swap: "outerHTML",
      values: {
        stage_id: column.dataset.stageId,
        version: card.dataset.version,
        pipeline: el.dataset.pipeline || "",
        owner: el.dataset.owner || ""
      }
    });
  }

  function arm(root) {
    var el = root.id === "board" ? root : root.querySelector && root.querySelector("#board");
    if (!el || !el.hasAttribute("data-can-move") || typeof Sortable === "undefined") return;
    el.querySelectorAll("[data-column]").forEach(function (column) {
      Sortable.create(column, {
        group: "deals",
        draggable: ".deal-card.is-movable",
        filter: ".deal-move",
        preventOnFilter: false,
        animation: 150,
        ghostClass: "deal-ghost",
        chosenClass: "deal-chosen",
        dragClass: "deal-drag",
        onEnd: function (event) {
          if (event.from !== event.to) move(event.item, event.to);
        }
      });
    });
  }

  // Anything else that went wrong (a 403, the network): show the board as it is.
  ["htmx:responseError", "htmx:sendError"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      var target = event.detail.target;
      if (target && target.id === "board") reload();
    });
  });

  htmx.onLoad(arm);
})();
