// Loupe's live pages: follow a job's stored events and then its live ones over its socket,
// and draw metric curves (uPlot, served from the project's own static files).
(function () {
  "use strict";

  // Open `path` (a socket of this host; the admin's session cookie authenticates it) with
  // ?after=N, hand each event to onEvent once (by its seq), and open it again after the last
  // seq seen when it drops. `after` null: a feed of many jobs' events (the tenant's), whose
  // seqs are each job's own, passed on as they come. onState gets "live", "reconnecting" or
  // "refused" (a close code 44xx: signed out, no longer allowed, or gone).
  function follow(path, after, onEvent, onState) {
    const ordered = after !== null;
    let last = after || 0;
    let stopped = false;
    let socket = null;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    function open() {
      socket = new WebSocket(`${scheme}://${location.host}${path}${ordered ? `?after=${last}` : ""}`);
      socket.onopen = () => onState && onState("live");
      socket.onmessage = (message) => {
        const event = JSON.parse(message.data);
        if (ordered && typeof event.seq === "number") {
          if (event.seq <= last) return;
          last = event.seq;
        }
        onEvent(event);
      };
      socket.onclose = (closed) => {
        if (stopped) return;
        if (closed.code >= 4400 && closed.code < 4500) {
          if (onState) onState("refused");
          return;
        }
        if (onState) onState("reconnecting");
        setTimeout(open, 1000);
      };
    }
    open();
    return { stop() { stopped = true; if (socket) socket.close(); } };
  }

  const PALETTE = ["#2f6fde", "#e3562f", "#2a9d5b", "#9b4dca", "#d4a017", "#17a2b8", "#6c757d"];

  // Curves of named series over epochs, one chart per group ("loss" and the rest), each
  // point set once per epoch (a resumed run's epoch replaces its earlier point).
  class Curves {
    constructor(container) {
      this.container = container;
      this.byEpoch = new Map(); // epoch -> {series name: value}
      this.charts = new Map(); // group -> {plot, names}
    }

    set(epoch, values) {
      this.byEpoch.set(epoch, { ...(this.byEpoch.get(epoch) || {}), ...values });
      this.draw();
    }

    draw() {
      const epochs = [...this.byEpoch.keys()].sort((a, b) => a - b);
      const names = new Set();
      for (const values of this.byEpoch.values()) Object.keys(values).forEach((n) => names.add(n));
      const groups = new Map();
      for (const name of [...names].sort()) {
        const group = /loss/.test(name) ? "loss" : "accuracy and other metrics";
        if (!groups.has(group)) groups.set(group, []);
        groups.get(group).push(name);
      }
      for (const [group, members] of groups) {
        const data = [epochs, ...members.map((n) => epochs.map((e) => this.byEpoch.get(e)[n] ?? null))];
        let chart = this.charts.get(group);
        if (!chart || chart.names.join() !== members.join()) {
          if (chart) chart.plot.destroy();
          chart = { names: members, plot: this.plot(group, members, data) };
          this.charts.set(group, chart);
        } else {
          chart.plot.setData(data);
        }
      }
      this.container.dataset.epochs = String(epochs.length);
    }

    plot(group, names, data) {
      const holder = document.createElement("div");
      holder.className = "live-chart";
      holder.dataset.group = group;
      this.container.appendChild(holder);
      return new uPlot(
        {
          title: group,
          width: Math.max(320, Math.min(720, this.container.clientWidth || 640)),
          height: 240,
          scales: { x: { time: false } },
          // Whole epochs only on the x axis.
          axes: [{ label: "epoch", incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500] }, {}],
          series: [
            { label: "epoch" },
            ...names.map((name, i) => ({
              label: name,
              stroke: PALETTE[i % PALETTE.length],
              width: 2,
              points: { show: true, size: 6 },
            })),
          ],
        },
        data,
        holder,
      );
    }
  }

  window.LoupeLive = { follow, Curves };
})();
