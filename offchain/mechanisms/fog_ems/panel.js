// Seed 000 (EV fog energy management): greedy vs certified-optimal matching per delivery period, and the
// exchange log. Data: offchain/mechanisms/fog_ems/panel.py.
kwx.registerPanel("fog_ems", (root, data, ui) => {
  const body = ui.card(root, "fog-body", `<div id="fog-body">
    <p class="hint">Each period, prosumers with surplus or deficit are paired with EVs that can store or supply it.
      The first-come rule (greedy) is cheap; the optimal assignment moves the most energy and comes with a proof
      (a certificate) the contract checks. Bars: energy each rule would move, from the period's bids.</p>
    <div class="split even"><div class="chart-box"><canvas id="fog-chart"></canvas></div>
      <div class="scroll"><table id="fog-totals"></table></div></div>
    <h3>Exchange log <span class="hint">every 10-second step of every match; + prosumer → EV, − EV → prosumer</span></h3>
    <div class="scroll"><table id="fog-log"></table></div></div>`);
  const periods = data.periods;
  const exact = (key, label) => (ctx) => {
    const p = periods[ctx.dataIndex];
    return `${label}: ${ui.kwh(p[key + "_kwh"])} (${p[key + "_wh"].toLocaleString("en-US")} Wh)`;
  };
  ui.chart(body.querySelector("#fog-chart"), {
    type: "bar",
    data: {
      labels: periods.map((p) => `${p.period}`),
      datasets: [
        { label: "greedy (first come)", data: periods.map((p) => p.greedy_kwh), backgroundColor: "#9aa9b8",
          tooltip: { callbacks: { label: exact("greedy", "greedy") } } },
        { label: "certified optimal", data: periods.map((p) => p.optimal_kwh), backgroundColor: "#2f6db5",
          tooltip: { callbacks: { label: exact("optimal", "optimal") } } },
      ],
    },
    options: { scales: { x: ui.axis("delivery period"), y: Object.assign(ui.axis("energy matched (kWh)"), { beginAtZero: true }) } },
  });
  const t = data.totals;
  ui.table(body.querySelector("#fog-totals"), ["period", "accepted", "pairs", "on chain (kWh)", "greedy (kWh)", "optimal (kWh)"],
    [...periods.slice().reverse().map((p) => [p.period, { text: p.method, title: `${p.prosumers} prosumer and ${p.evs} EV bids; block ${p.block}` },
      p.pairs, { text: ui.num(p.chain_kwh, 3), title: `${p.chain_wh} Wh` }, { text: ui.num(p.greedy_kwh, 3), title: `${p.greedy_wh} Wh` },
      { text: ui.num(p.optimal_kwh, 3), title: `${p.optimal_wh} Wh` }]),
     ["all shown", "", "", ui.num(t.chain_kwh, 3), ui.num(t.greedy_kwh, 3), ui.num(t.optimal_kwh, 3)]]);
  ui.table(body.querySelector("#fog-log"), ["step", "match", "prosumer", "EV", "energy (kWh)", "EV holds (kWh)", "price (UPOS/kWh)", "paid (UPOS)"],
    data.exchanges.map((e) => [{ text: e.step, title: `block ${e.block}` }, `#${e.matching}`, { text: ui.short(e.prosumer), title: e.prosumer },
      { text: ui.short(e.ev), title: e.ev }, { text: ui.num(e.kwh, 3), title: `${e.wh} Wh` }, ui.num(e.ev_available_kwh, 3),
      ui.num(e.price, 4), { text: ui.num(e.paid, 6), title: `${e.paid} UPOS` }]));
});
