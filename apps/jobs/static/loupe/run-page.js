// A training run's live page: its curves grow as epochs finish and its events are listed,
// from the run's socket (the stored events first: a reload shows the history, then goes on).
(function () {
  "use strict";
  const page = JSON.parse(document.getElementById("live-run").textContent);
  const curves = new LoupeLive.Curves(document.getElementById("curves"));
  const log = document.getElementById("events");
  const status = document.getElementById("status");
  const progress = document.getElementById("progress");
  const state = document.getElementById("connection");
  const FINAL = ["succeeded", "failed", "cancelled"];

  function logged(event) {
    const item = document.createElement("li");
    const data = Object.keys(event.data || {}).length ? " " + JSON.stringify(event.data) : "";
    item.textContent = `#${event.seq} ${event.time.slice(11, 19)} ${event.type}${data}`;
    log.prepend(item);
    log.dataset.count = String(log.children.length);
  }

  LoupeLive.follow(page.socket, 0, (event) => {
    const data = event.data || {};
    if (event.type === "batch.progress") {
      progress.textContent = `epoch ${data.epoch}, batch ${data.batch} of ${data.batches}` +
        (data.loss === null ? "" : `, loss ${data.loss}`);
      return;
    }
    logged(event);
    if (event.type === "epoch.finished") {
      curves.set(data.epoch, data.metrics);
      progress.textContent = `epoch ${data.epoch} of ${page.epochs} finished`;
    } else if (event.type.startsWith("run.")) {
      const now = event.type.slice(4);
      status.textContent = now === "started" || now === "resumed" ? "running" : now;
      if (FINAL.includes(now)) progress.textContent = `${now} after ${curves.byEpoch.size} epochs`;
    }
  }, (now) => { state.textContent = now; state.dataset.state = now; });
})();
