// Charts for the stats pages, Home's tiles and a campaign's history, drawn with the vendored
// Chart.js from the table beside each canvas: the table (table[data-chart]) is the source, so
// readers without JavaScript, and screen readers, get the same numbers. Charts are drawn again
// when htmx swaps new tables in (the range form). Nothing inline: the CSP forbids it.
(function () {
  "use strict";
  // The dashboard's swatch colours (static/css/app.css): each at least 3:1 against white.
  const COLOURS = [
    "#b5442b", "#1f6fb2", "#1f7a4d", "#8a5200", "#6b3fa0",
    "#00707a", "#a3246b", "#5f6b7a", "#4d6b00", "#0b3d91",
  ];
  const INK = "#1d232b";
  const GRID = "#d9dee5";

  function number(text) {
    if (text === undefined || text === null || text === "") return null;
    const value = Number(String(text).replace(/[,\s]/g, ""));
    return Number.isFinite(value) ? value : null;
  }

  function readTable(table) {
    const names = Array.from(table.querySelectorAll("thead th[data-series]")).map((th) => th.textContent.trim());
    const labels = [];
    const series = names.map(() => []);
    table.querySelectorAll("tbody tr").forEach((row) => {
      const head = row.querySelector("th");
      labels.push(head ? head.textContent.trim() : "");
      const cells = row.querySelectorAll("td[data-value]");
      names.forEach((_name, i) => series[i].push(cells[i] ? number(cells[i].dataset.value) : null));
    });
    return { labels, names, series };
  }

  function options(table) {
    const data = table.dataset;
    const small = data.small === "true";
    const horizontal = data.horizontal === "true";
    const stacked = data.stacked === "true";
    const suffix = data.percent === "true" ? "%" : "";
    const category = { stacked, grid: { display: false }, ticks: { color: INK, autoSkip: true, maxRotation: 0 },
      title: { display: !small, text: data.xLabel, color: INK } };
    const value = { stacked, beginAtZero: true, grid: { color: GRID },
      ticks: { color: INK, precision: suffix ? undefined : 0, callback: (tick) => `${Number(tick).toLocaleString()}${suffix}` },
      title: { display: !small, text: data.yLabel, color: INK } };
    return {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      indexAxis: horizontal ? "y" : "x",
      interaction: { mode: "index", intersect: false },
      plugins: {
        legend: { display: !small, labels: { color: INK } },
        tooltip: { enabled: true },
      },
      scales: small
        ? { x: { display: false }, y: { display: false, beginAtZero: true } }
        : horizontal ? { x: value, y: category } : { x: category, y: value },
    };
  }

  function draw(table) {
    const figure = table.closest("figure");
    const canvas = figure && figure.querySelector("canvas");
    if (!canvas || typeof window.Chart === "undefined") return;
    const existing = window.Chart.getChart(canvas);
    if (existing) existing.destroy();
    const kind = table.dataset.chart === "bar" ? "bar" : "line";
    const { labels, names, series } = readTable(table);
    const small = table.dataset.small === "true";
    const datasets = names.map((name, i) => {
      const colour = COLOURS[i % COLOURS.length];
      return {
        label: name,
        data: series[i],
        borderColor: colour,
        backgroundColor: kind === "bar" ? colour : `${colour}22`,
        borderWidth: kind === "bar" ? 0 : 2,
        pointRadius: small || labels.length > 40 ? 0 : 2,
        fill: small,
        tension: 0.2,
        spanGaps: true,
      };
    });
    // Horizontal bars grow with their rows, so long lists stay readable.
    if (table.dataset.horizontal === "true") {
      canvas.parentElement.style.height = `${Math.max(10, 2.2 * labels.length * Math.max(1, names.length * 0.6) + 4)}rem`;
    }
    new window.Chart(canvas, { type: kind, data: { labels, datasets }, options: options(table) });
    // Drawn: its table folds under "The numbers", one click away.
    const numbers = table.closest("details");
    if (numbers && !figure.classList.contains("chart-drawn")) numbers.open = false;
    figure.classList.add("chart-drawn");
  }

  function drawAll(root) {
    (root || document).querySelectorAll("table[data-chart]").forEach(draw);
  }

  // Typing custom days means a custom range: say so before htmx sends the form (capture phase,
  // ahead of the form's own listener).
  document.addEventListener("change", (event) => {
    if (!event.target.matches(".stats-range input[type=date]")) return;
    const preset = event.target.form && event.target.form.querySelector("select[name=range]");
    if (preset) preset.value = "custom";
  }, true);

  // htmx keeps a copy of the page's HTML for the back button; a drawn chart's style attributes
  // in it would be refused by the CSP when the copy comes back, so the copy holds bare tables.
  function undraw(table) {
    const figure = table.closest("figure");
    const canvas = figure && figure.querySelector("canvas");
    if (!canvas || typeof window.Chart === "undefined") return;
    const chart = window.Chart.getChart(canvas);
    if (chart) chart.destroy();
    canvas.removeAttribute("style");
    canvas.removeAttribute("width");
    canvas.removeAttribute("height");
    canvas.parentElement.removeAttribute("style");
    figure.classList.remove("chart-drawn");
  }

  document.addEventListener("htmx:beforeHistorySave", () => {
    document.querySelectorAll("table[data-chart]").forEach(undraw);
  });
  document.addEventListener("htmx:historyRestore", () => drawAll(document));
  document.addEventListener("htmx:afterSettle", (event) => drawAll(event.detail.elt));
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", () => drawAll(document));
  } else {
    drawAll(document);
  }
})();
