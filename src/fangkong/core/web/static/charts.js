// Draw the hourly flow charts from the JSON each page embeds (no inline script: the CSP forbids it).
document.addEventListener("DOMContentLoaded", function () {
  var data = document.getElementById("flows-data");
  if (!data || typeof echarts === "undefined") return;
  var flows = JSON.parse(data.textContent);
  document.querySelectorAll('[data-chart="flows"]').forEach(function (el) {
    var chart = echarts.init(el);
    chart.setOption({
      tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: { left: 40, right: 16, top: 36, bottom: 28 },
      xAxis: { type: "category", data: flows.hours }, yAxis: { type: "value", minInterval: 1 },
      series: Object.keys(flows.series).map(function (name) {
        return { name: name, type: name === Object.keys(flows.series)[0] ? "bar" : "line", data: flows.series[name] };
      }),
    });
    window.addEventListener("resize", function () { chart.resize(); });
  });
});
