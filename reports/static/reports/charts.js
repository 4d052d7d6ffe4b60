/* Draws every chart of a ParkShare report page with the vendored Apache ECharts.
 *
 * A chart is a container <div class="chart" data-chart="ID"> and the figures the server
 * embedded beside it as <script type="application/json" id="ID"> (Django's json_script):
 *   {kind: "bar"|"line"|"pie", x: column, values: [columns], group: column|null,
 *    stacked: bool, secondary: [columns on a right-hand axis, as lines],
 *    labels: {column: label}, rows: [{column: value}]}
 * No inline script and no network request: the page's Content-Security-Policy allows
 * scripts from this server only.
 */
(function () {
  "use strict";

  var PALETTE = ["#0b6e4f", "#2f7fc1", "#e08e2b", "#8e5ea2", "#c0392b", "#16a2a5",
                 "#7a8b2c", "#d35f8d", "#566573", "#b7950b"];

  function unique(values) {
    var seen = [];
    values.forEach(function (v) { if (seen.indexOf(v) < 0) { seen.push(v); } });
    return seen;
  }

  function cartesian(spec) {
    var categories = unique(spec.rows.map(function (r) { return r[spec.x]; }));
    var series;
    if (spec.group) {
      var value = spec.values[0];
      series = unique(spec.rows.map(function (r) { return r[spec.group]; })).map(function (g) {
        return {
          name: String(g), type: spec.kind, stack: spec.stacked ? "all" : undefined,
          data: categories.map(function (c) {
            return spec.rows.reduce(function (sum, r) {
              return r[spec.x] === c && r[spec.group] === g ? sum + (r[value] || 0) : sum;
            }, 0);
          })
        };
      });
    } else {
      var column = function (key, type, axis) {
        return {
          name: spec.labels[key], type: type, yAxisIndex: axis,
          stack: spec.stacked && axis === 0 ? "all" : undefined,
          data: spec.rows.map(function (r) { return r[key] === null ? 0 : r[key]; })
        };
      };
      series = spec.values.map(function (key) { return column(key, spec.kind, 0); })
        .concat((spec.secondary || []).map(function (key) { return column(key, "line", 1); }));
    }
    var axes = [{type: "value"}];
    if ((spec.secondary || []).length) {
      axes.push({type: "value", position: "right", splitLine: {show: false},
                 name: spec.secondary.map(function (k) { return spec.labels[k]; }).join(", ")});
    }
    return {
      color: PALETTE, animation: false,
      tooltip: {trigger: "axis", renderMode: "richText"},
      legend: {top: 0},
      grid: {left: 56, right: 24, top: 36, bottom: 56, containLabel: true},
      // A few long categories (grades, classes): every label, wrapped; many (days): the
      // ones that fit.
      xAxis: {type: "category", data: categories.map(String),
              axisLabel: categories.length <= 8 ? {interval: 0, overflow: "break", width: 110}
                                                : {hideOverlap: true}},
      yAxis: axes,
      series: series
    };
  }

  function pie(spec) {
    var value = spec.values[0];
    return {
      color: PALETTE, animation: false,
      tooltip: {trigger: "item", renderMode: "richText"},
      legend: {type: "scroll", orient: "vertical", right: 8, top: 16, bottom: 16},
      series: [{
        name: spec.labels[value], type: "pie", radius: ["35%", "68%"], center: ["38%", "52%"],
        label: {formatter: "{d}%"},
        data: spec.rows.map(function (r) { return {name: String(r[spec.x]), value: r[value]}; })
      }]
    };
  }

  function draw() {
    if (typeof echarts === "undefined") { return; }
    var charts = [];
    document.querySelectorAll(".chart[data-chart]").forEach(function (element) {
      var source = document.getElementById(element.getAttribute("data-chart"));
      if (!source) { return; }
      var spec = JSON.parse(source.textContent);
      var chart = echarts.init(element, null, {renderer: "canvas"});
      chart.setOption(spec.kind === "pie" ? pie(spec) : cartesian(spec));
      charts.push(chart);
    });
    function resize() { charts.forEach(function (c) { c.resize(); }); }
    window.addEventListener("resize", resize);
    window.addEventListener("beforeprint", resize);
    window.addEventListener("afterprint", resize);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
}());
