// The command dashboard and the big screen: draw the charts from the embedded JSON, refresh the data
// in place every N seconds (no reload), and on the big screen rotate the panels. No inline script (CSP).
(function () {
  "use strict";
  var charts = {};

  function fmt(n) { return Number(n).toLocaleString(); }

  function draw(data, dark) {
    if (typeof echarts === "undefined") return;
    var text = dark ? "#e6eefb" : "#1f2937";
    var base = { textStyle: { color: text }, backgroundColor: "transparent" };
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var kind = el.getAttribute("data-chart");
      var chart = charts[kind] || (charts[kind] = echarts.init(el, dark ? "dark" : null));
      var units = data.map.units;
      if (kind === "trend") {
        var names = Object.keys(data.trend.series);
        chart.setOption(Object.assign({}, base, {
          tooltip: { trigger: "axis" }, legend: { top: 0, textStyle: { color: text } },
          grid: { left: 50, right: 16, top: 48, bottom: 28 },
          xAxis: { type: "category", data: data.trend.days }, yAxis: { type: "value", minInterval: 1 },
          series: names.map(function (n) { return { name: n, type: "line", smooth: true, data: data.trend.series[n] }; })
        }), true);
      } else if (kind === "ontime") {
        chart.setOption(Object.assign({}, base, {
          tooltip: { trigger: "axis" }, legend: { top: 0, textStyle: { color: text } },
          grid: { left: 50, right: 50, top: 48, bottom: 60 },
          xAxis: { type: "category", data: units.map(function (u) { return u.name; }), axisLabel: { rotate: 30 } },
          yAxis: [{ type: "value", max: 100, name: "%" }, { type: "value", minInterval: 1 }],
          series: [
            { name: data.map.on_time_label, type: "bar", data: units.map(function (u) { return u.on_time; }) },
            { name: data.map.overdue_label, type: "line", yAxisIndex: 1,
              data: units.map(function (u) { return u.overdue; }) }]
        }), true);
      } else if (kind === "map") {
        var hasMap = echarts.getMap && echarts.getMap("兰州");
        var values = units.map(function (u) { return { name: u.region, value: u.value, unitId: u.id }; });
        var max = Math.max.apply(null, values.map(function (v) { return v.value; }).concat([1]));
        if (hasMap && units.some(function (u) { return u.region !== u.name; })) {
          chart.setOption(Object.assign({}, base, {
            title: { text: data.map.label, left: 8, top: 4, textStyle: { color: text, fontSize: 14 } },
            tooltip: { trigger: "item", formatter: function (p) { return p.name + ": " + fmt(p.value || 0); } },
            visualMap: { min: 0, max: max, left: 8, bottom: 8, calculable: true, textStyle: { color: text },
                         inRange: { color: ["#e0f3f8", "#fdae61", "#d73027"] } },
            series: [{ type: "map", map: "兰州", roam: true, label: { show: true, color: "#111" }, data: values }]
          }), true);
          chart.off("click");
          chart.on("click", function (p) { if (p.data && p.data.unitId && !document.body.classList.contains("screen")) {
            window.location = "/command?unit=" + p.data.unitId; } });
        } else {  // below district level there are no polygons: bars per station instead
          chart.setOption(Object.assign({}, base, {
            title: { text: data.map.label, left: 8, top: 4, textStyle: { color: text, fontSize: 14 } },
            tooltip: { trigger: "axis" }, grid: { left: 140, right: 20, top: 36, bottom: 20 },
            xAxis: { type: "value", minInterval: 1 }, yAxis: { type: "category", data: units.map(function (u) { return u.name; }) },
            series: [{ type: "bar", data: units.map(function (u) { return u.value; }) }]
          }), true);
        }
      }
    });
  }

  function update(data) {
    var tiles = document.getElementById("tiles");
    if (tiles) {
      tiles.querySelectorAll(".tile").forEach(function (el, i) {
        var t = data.tiles[i]; if (!t) return;
        el.querySelector("b").textContent = fmt(t.today);
      });
    }
    var sentences = document.getElementById("sentences");
    if (sentences) {
      sentences.querySelectorAll("li").forEach(function (el, i) { if (data.sentences[i]) el.textContent = data.sentences[i]; });
    }
    var legs = document.getElementById("alert-legs"), refs = document.getElementById("alert-referrals");
    if (legs) legs.textContent = data.alerts.overdue_legs;
    if (refs) refs.textContent = data.alerts.open_referrals;
  }

  function start() {
    var holder = document.getElementById("dashboard") || document.getElementById("screen");
    var embedded = document.getElementById("dashboard-data");
    document.querySelectorAll("[data-autosubmit]").forEach(function (el) {
      el.addEventListener("change", function () { el.form.submit(); });
    });
    document.querySelectorAll("[data-print]").forEach(function (el) {
      el.addEventListener("click", function (e) { e.preventDefault(); window.print(); });
    });
    if (!holder || !embedded) return;
    var dark = holder.id === "screen";
    var data = JSON.parse(embedded.textContent);
    draw(data, dark);
    window.addEventListener("resize", function () { Object.keys(charts).forEach(function (k) { charts[k].resize(); }); });
    var every = parseInt(holder.getAttribute("data-refresh") || "60", 10) * 1000;
    var source = holder.getAttribute("data-source");
    setInterval(function () {
      fetch(source, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (fresh) { if (fresh) { update(fresh); draw(fresh, dark); } })
        .catch(function () { /* offline for a moment: keep the last picture */ });
    }, every);
    if (dark) {
      var clock = document.getElementById("clock");
      var tick = function () { if (clock) clock.textContent = new Date().toLocaleString(); };
      tick(); setInterval(tick, 1000);
      var panels = document.querySelectorAll(".panel"), at = 0;
      var rotate = parseInt(holder.getAttribute("data-rotate") || "15", 10) * 1000;
      setInterval(function () {
        panels[at].classList.remove("active"); at = (at + 1) % panels.length; panels[at].classList.add("active");
        var kind = panels[at].getAttribute("data-chart"); if (charts[kind]) charts[kind].resize();
      }, rotate);
    }
  }
  document.addEventListener("DOMContentLoaded", start);
})();
