/* Sales pages: draws the dashboard's charts with Chart.js from the page's JSON block, submits
   the filter form on change, and tells task forms the reader's time zone. No inline scripts. */
(function () {
  "use strict";

  var PALETTE = ["#4f46e5", "#0ea5e9", "#10b981", "#f59e0b", "#ef4444", "#8b5cf6", "#14b8a6",
                 "#f97316", "#64748b", "#ec4899"];

  function fillTimezones(root) {
    var zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (_e) { zone = ""; }
    (root || document).querySelectorAll("input[data-timezone]").forEach(function (el) {
      el.value = zone;
    });
    // "Today" on My tasks is the reader's today: the page reads the zone from this cookie.
    if (zone) document.cookie = "rapport_tz=" + encodeURIComponent(zone) + "; path=/; samesite=lax";
  }

  function money(currency) {
    var format;
    try {
      format = new Intl.NumberFormat(undefined, { style: "currency", currency: currency,
                                                  maximumFractionDigits: 0 });
    } catch (_e) {
      format = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
    }
    return function (value) { return format.format(value); };
  }

  function chart(id, config) {
    var canvas = document.getElementById(id);
    if (!canvas) return;
    config.options = Object.assign({ responsive: true, maintainAspectRatio: false,
                                     animation: false }, config.options || {});
    new window.Chart(canvas, config);
    canvas.setAttribute("data-rendered", "");
  }

  function drawDashboard() {
    var block = document.getElementById("sales-data");
    if (!block || !window.Chart) return;
    var data = JSON.parse(block.textContent);
    var fmt = money(data.currency || "EUR");
    var moneyAxis = { beginAtZero: true, ticks: { callback: function (v) { return fmt(v); } } };
    var moneyTip = { callbacks: { label: function (c) {
      return c.dataset.label + ": " + fmt(c.parsed.y !== undefined ? c.parsed.y : c.parsed);
    } } };

    chart("chart-weighted", {
      type: "bar",
      data: {
        labels: data.weighted.labels,
        datasets: data.weighted.datasets.map(function (d, i) {
          return { label: d.label, data: d.data, backgroundColor: PALETTE[i % PALETTE.length] };
        })
      },
      options: { scales: { x: { stacked: true }, y: Object.assign({ stacked: true }, moneyAxis) },
                 plugins: { tooltip: moneyTip } }
    });

    chart("chart-forecast", {
      type: "bar",
      data: {
        labels: data.forecast.map(function (r) { return r.stage; }),
        datasets: [
          { label: "Historical conversion", backgroundColor: PALETTE[0],
            data: data.forecast.map(function (r) { return r.history; }) },
          { label: "Static probability", backgroundColor: "#c7d2fe",
            data: data.forecast.map(function (r) { return r.static; }) }
        ]
      },
      options: { scales: { y: moneyAxis }, plugins: { tooltip: moneyTip } }
    });

    var s = data.summary;
    chart("chart-winrate", {
      type: "doughnut",
      data: { labels: ["Won", "Lost"],
              datasets: [{ data: [s.won, s.lost], backgroundColor: ["#10b981", "#ef4444"] }] },
      options: { plugins: { legend: { position: "bottom" } } }
    });

    chart("chart-funnel", {
      type: "bar",
      data: {
        labels: data.funnel.map(function (r) { return r.stage; }),
        datasets: [{ label: "Deals that entered", backgroundColor: PALETTE[1],
                     data: data.funnel.map(function (r) { return r.entered; }) }]
      },
      options: { indexAxis: "y", plugins: { legend: { display: false }, tooltip: { callbacks: {
        afterLabel: function (c) {
          var next = data.funnel[c.dataIndex].conversion;
          return next === null ? "" : Math.round(next * 100) + "% went on to the next stage";
        } } } } }
    });

    chart("chart-bottlenecks", {
      type: "bar",
      data: {
        labels: data.bottlenecks.map(function (r) { return r.stage; }),
        datasets: [
          { label: "Open deals now (median days)",
            data: data.bottlenecks.map(function (r) { return r.current; }),
            backgroundColor: data.bottlenecks.map(function (r) {
              return r.is_bottleneck ? "#f59e0b" : PALETTE[0];
            }) },
          { label: "Past deals (median days)", backgroundColor: "#cbd5e1",
            data: data.bottlenecks.map(function (r) { return r.historical; }) }
        ]
      },
      options: { scales: { y: { beginAtZero: true, title: { display: true, text: "days" } } } }
    });
  }

  document.addEventListener("change", function (event) {
    var form = event.target.closest("form[data-autosubmit]");
    if (form) form.submit();
  });
  document.addEventListener("htmx:afterSwap", function (event) { fillTimezones(event.target); });
  document.addEventListener("DOMContentLoaded", function () {
    fillTimezones(document);
    drawDashboard();
  });
})();
