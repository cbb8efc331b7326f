// Seed 003 AdBEV: energy EVs traded per half-hour period and the orders carried into the next period.
// Data: offchain/mechanisms/adbev/panel.py.
kwx.registerPanel("adbev", (root, data, ui) => {
  const body = ui.card(root, "adbev-body", `<div id="adbev-body">
    <p class="hint">EVs buy (charge) and sell (discharge) energy for each half hour. Large orders are icebergs that
      show a small part at a time. When sellers are left over, their orders move to the next half hour and keep
      their place in the queue; icebergs waiting for sellers move the same way.</p>
    <div class="split even"><div class="chart-box"><canvas id="adbev-chart"></canvas></div>
      <div class="scroll"><table id="adbev-table"></table></div></div></div>`);
  const periods = data.periods;
  ui.chart(body.querySelector("#adbev-chart"), {
    type: "bar",
    data: {
      labels: periods.map((p) => `${p.period}`),
      datasets: [
        { label: "traded between EVs", data: periods.map((p) => p.traded_kwh), backgroundColor: "#2f6db5",
          tooltip: { callbacks: { label: (ctx) => `traded: ${ui.kwh(periods[ctx.dataIndex].traded_kwh)} (${periods[ctx.dataIndex].traded_wh} Wh)` } } },
        { label: "carried to the next period", data: periods.map((p) => p.carried_kwh), backgroundColor: "#9aa9b8",
          tooltip: { callbacks: { label: (ctx) => `carried: ${ui.kwh(periods[ctx.dataIndex].carried_kwh)} (${periods[ctx.dataIndex].carried_wh} Wh)` } } },
      ],
    },
    options: { scales: { x: ui.axis("delivery period (half hours)"), y: Object.assign(ui.axis("energy (kWh)"), { beginAtZero: true }) } },
  });
  ui.table(body.querySelector("#adbev-table"), ["period", "trades", "traded (kWh)", "carried orders", "carried (kWh)"],
    [...periods.slice().reverse().map((p) => [p.period, p.trades, { text: ui.num(p.traded_kwh, 3), title: `${p.traded_wh} Wh` },
      p.carried, { text: ui.num(p.carried_kwh, 3), title: `${p.carried_wh} Wh` }]),
     ["carries skipped", "", "", data.skipped, ""]]);
});
