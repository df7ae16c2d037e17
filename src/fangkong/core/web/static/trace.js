// Draw a case's contact chain (case → close → secondary contacts) from the JSON its page points to
// (data-src; the CSP forbids inline scripts). The server lays the nodes out (tracing/graph.py), so no
// force layout runs here: 10,000 nodes draw at once and the drawing always fits its frame. Names show on
// hover (and always for small graphs); the wheel zooms, dragging pans.
document.addEventListener("DOMContentLoaded", function () {
  var el = document.querySelector('[data-chart="contacts"]');
  if (!el || !el.dataset.src || typeof echarts === "undefined") return;
  var chart = echarts.init(el, null, { renderer: "canvas" });
  var aspect = 1;
  // The drawing keeps its proportions (a circle stays round) and takes the largest box that fits the frame
  // below the legend: ECharts would otherwise stretch it to the frame's shape.
  function box() {
    var w = el.clientWidth - 16, h = el.clientHeight - 44;
    var width = Math.min(w, h * aspect), height = width / aspect;
    return { width: width, height: height, left: (el.clientWidth - width) / 2, top: 36 + (h - height) / 2 };
  }
  chart.showLoading({ text: el.dataset.loading || "" });
  fetch(el.dataset.src, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
    .then(function (g) {
      var big = g.nodes.length > 2000;
      var xs = g.nodes.map(function (n) { return n[3]; }), ys = g.nodes.map(function (n) { return n[4]; });
      var spanX = Math.max.apply(null, xs) - Math.min.apply(null, xs);
      var spanY = Math.max.apply(null, ys) - Math.min.apply(null, ys);
      aspect = spanX > 0 && spanY > 0 ? spanX / spanY : 1;
      var scale = Math.max(0.5, Math.min(1, box().width / 700));  // smaller dots in a phone's frame
      chart.hideLoading();
      chart.setOption({
        animation: false,
        tooltip: { confine: true, formatter: function (p) {
          return p.dataType === "node" ? echarts.format.encodeHTML(p.name) + "<br>" + g.categories[p.data.category] : "";
        } },
        legend: { data: g.categories, top: 0 },
        series: [{
          type: "graph", layout: "none", roam: true, draggable: false, width: box().width, height: box().height,
          left: box().left, top: box().top,
          scaleLimit: { min: 0.5, max: 40 }, nodeScaleRatio: 0.4,
          categories: g.categories.map(function (name) { return { name: name }; }),
          label: { show: g.labels, position: "right", fontSize: 11 },
          emphasis: { focus: big ? "none" : "adjacency", label: { show: true, fontWeight: "bold" } },
          lineStyle: { opacity: big ? 0.25 : 0.5, width: big ? 0.5 : 1 },
          data: g.nodes.map(function (n) {
            return { id: n[0], name: n[1], category: n[2], x: n[3], y: n[4], symbolSize: g.sizes[n[2]] * scale };
          }),
          links: g.links.map(function (l) { return { source: l[0], target: l[1] }; }),
        }],
      });
    })
    .catch(function () { chart.hideLoading(); });
  window.addEventListener("resize", function () {
    chart.resize();
    if (chart.getOption() && chart.getOption().series) chart.setOption({ series: [box()] });
  });
});
