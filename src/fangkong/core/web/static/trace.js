// Draw a case's contact chain (case → close → secondary) from the JSON the page embeds (the CSP forbids inline scripts).
document.addEventListener("DOMContentLoaded", function () {
  var data = document.getElementById("contacts-data");
  var el = document.querySelector('[data-chart="contacts"]');
  if (!data || !el || typeof echarts === "undefined") return;
  var graph = JSON.parse(data.textContent);
  var zh = document.documentElement.lang === "zh-CN";
  var categories = zh ? ["病例", "密接", "次密接"] : ["Case", "Close contact", "Secondary contact"];
  var chart = echarts.init(el);
  chart.setOption({
    tooltip: {}, legend: { data: categories, top: 0 },
    series: [{
      type: "graph", layout: "force", roam: true, draggable: true, top: 30,
      force: { repulsion: 120, edgeLength: 60 }, label: { show: graph.nodes.length <= 60, position: "right" },
      categories: categories.map(function (name) { return { name: name }; }),
      data: graph.nodes.map(function (n) {
        return { id: n.id, name: n.name, category: n.category, symbolSize: [28, 16, 10][n.category] };
      }),
      links: graph.links, lineStyle: { opacity: 0.6 },
    }],
  });
  window.addEventListener("resize", function () { chart.resize(); });
});
