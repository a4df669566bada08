// An experiment's live page: every run's curves overlaid (a run still training keeps
// adding its epochs over its socket), beside the comparison table rendered with the page.
(function () {
  "use strict";
  const page = JSON.parse(document.getElementById("live-experiment").textContent);
  const curves = new LoupeLive.Curves(document.getElementById("curves"));
  const label = (run, metric) => `${metric} · run ${run.id}`;

  for (const run of page.runs) {
    run.epochs.forEach((epoch, i) => {
      const values = {};
      for (const [metric, series] of Object.entries(run.series)) values[label(run, metric)] = series[i];
      curves.set(epoch, values);
    });
    if (!run.live) continue;
    LoupeLive.follow(`/ws/training-runs/${run.id}/`, 0, (event) => {
      if (event.type === "epoch.finished") {
        const values = {};
        for (const [metric, value] of Object.entries(event.data.metrics)) values[label(run, metric)] = value;
        curves.set(event.data.epoch, values);
      } else if (["run.succeeded", "run.failed", "run.cancelled"].includes(event.type)) {
        location.reload(); // its final metrics and status, in the table too
      }
    });
  }
})();
