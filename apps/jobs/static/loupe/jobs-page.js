// The live jobs page: each running job's bar moves with its progress events, and the table
// is fetched afresh when a job starts or ends (the tenant's event feed says so).
(function () {
  "use strict";
  const table = document.getElementById("jobs");
  const state = document.getElementById("connection");
  let followers = [];
  // The lifecycle events that move a job between the table's parts.
  const LIFECYCLE = /\.(queued|started|resumed|cancelling|succeeded|partially_failed|failed|cancelled)$/;

  function progressOf(row, event) {
    const data = event.data || event;
    switch (row.dataset.kind) {
      case "training_run":
        if (event.type === "epoch.finished") return data.epoch;
        if (event.type === "batch.progress") return data.epoch - 1 + data.batch / data.batches;
        return null;
      case "import":
        return event.type === "import.progress" ? data.total : null;
      default: // inference runs and evaluations: chunks of rows
        if (event.type === "chunk.progress") {
          if (data.rows) row.dataset.total = String(data.rows);
          return data.rows_done;
        }
        return null;
    }
  }

  function show(row, done) {
    const bar = row.querySelector("progress");
    if (row.dataset.total) bar.max = Number(row.dataset.total);
    bar.value = done;
    row.querySelector(".done").textContent = Number.isInteger(done) ? String(done) : done.toFixed(2);
  }

  function followRows() {
    followers.forEach((follower) => follower.stop());
    followers = [...table.querySelectorAll("tr.job[data-socket]:not([data-socket=''])")].map((row) =>
      LoupeLive.follow(row.dataset.socket, Number(row.dataset.after), (event) => {
        const done = progressOf(row, event);
        if (done !== null && done !== undefined) show(row, done);
      }),
    );
  }

  let refreshing = null;
  function refresh() {
    // One fetch at a time; an end that comes meanwhile asks for one more.
    if (refreshing) { refreshing.again = true; return; }
    refreshing = { again: false };
    fetch(`${location.pathname}?rows=1`, { credentials: "same-origin" })
      .then((response) => response.text())
      .then((html) => {
        const rows = new DOMParser().parseFromString(`<table>${html}</table>`, "text/html");
        for (const id of ["active", "ended"]) table.querySelector(`#${id}`).replaceWith(rows.getElementById(id));
        followRows();
      })
      .finally(() => {
        const again = refreshing.again;
        refreshing = null;
        if (again) refresh();
      });
  }

  followRows();
  LoupeLive.follow("/ws/events/", null, (event) => {
    if (event.kind && event.job && LIFECYCLE.test(event.type)) refresh();
  }, (now) => { state.textContent = now; state.dataset.state = now; });
})();
