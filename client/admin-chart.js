/*! admin-chart.js: the admin page's one-hour chart, drawn on a canvas. MIT licence. */
// A step line of member counts over the last `windowMs`, with a dot on the latest count. No library: the
// admin page loads nothing from elsewhere.
(function () {
  'use strict';

  function draw(canvas, series, windowMs) {
    var ratio = window.devicePixelRatio || 1;
    var w = canvas.clientWidth || 640;
    var h = canvas.clientHeight || 200;
    canvas.width = w * ratio;
    canvas.height = h * ratio;
    var g = canvas.getContext('2d');
    g.scale(ratio, ratio);
    g.clearRect(0, 0, w, h);
    var now = Date.now();
    var max = Math.max(1, Math.max.apply(null, series.map(function (p) { return p.v; }).concat([0])));
    var left = 36, bottom = h - 18, top = 8;
    var x = function (t) { return left + (w - left - 4) * (1 - (now - t) / windowMs); };
    var y = function (v) { return bottom - (bottom - top) * v / max; };
    g.strokeStyle = '#e6e8ec';
    g.fillStyle = '#8a92a3';
    g.font = '11px system-ui, sans-serif';
    (max >= 2 ? [0, Math.round(max / 2), max] : [0, max]).forEach(function (v) {
      g.beginPath(); g.moveTo(left, y(v)); g.lineTo(w, y(v)); g.stroke();
      g.fillText(String(Math.round(v)), 4, y(v) + 4);
    });
    ['-60 min', '-30 min', 'now'].forEach(function (label, i) {
      g.fillText(label, Math.min(w - 30, left + (w - left - 4) * i / 2 - (i ? 15 : 0)), h - 4);
    });
    if (series.length === 0) return;
    g.strokeStyle = '#2456c7';
    g.lineWidth = 2;
    g.beginPath();
    series.forEach(function (p, i) {
      // A step line: the count stays what it was until the next sample.
      if (i === 0) g.moveTo(x(p.t), y(p.v));
      else { g.lineTo(x(p.t), y(series[i - 1].v)); g.lineTo(x(p.t), y(p.v)); }
    });
    g.lineTo(x(now), y(series[series.length - 1].v));
    g.stroke();
    // The latest count as a dot, visible even before the line has any length at an hour's scale.
    g.fillStyle = '#2456c7';
    g.beginPath();
    g.arc(x(now), y(series[series.length - 1].v), 3, 0, 2 * Math.PI);
    g.fill();
  }

  window.adminChart = { draw: draw };
})();
