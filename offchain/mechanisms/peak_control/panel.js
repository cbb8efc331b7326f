// Seed 002 (community peak control): each day's penalty multipliers by hour and the reference day's PAR.
// Data: offchain/mechanisms/peak_control/panel.py.
kwx.registerPanel("peak_control", (root, data, ui) => {
  const body = ui.card(root, "peak-body", `<div id="peak-body">
    <p class="hint">When yesterday's community purchases were peaky (PAR = average / peak below the threshold), buying
      in tomorrow's busiest hours costs up to 1.5 times the price; recommendations tell each participant when to buy
      instead. Bars: the latest day's multiplier per hour.</p>
    <div class="split even"><div class="chart-box"><canvas id="peak-chart"></canvas></div>
      <div class="scroll"><table id="peak-days"></table></div></div></div>`);
  const days = data.days;
  const latest = days.length ? days[days.length - 1] : null;
  ui.chart(body.querySelector("#peak-chart"), {
    type: "bar",
    data: {
      labels: [...Array(24).keys()].map((h) => `${h}:00`),
      datasets: [{ label: latest ? `day ${latest.day}` : "no day yet", data: latest ? latest.multipliers : [],
        backgroundColor: "#c0504d",
        tooltip: { callbacks: { label: (ctx) => `x${ui.num(ctx.parsed.y, 4)} (${latest.multipliers_bps[ctx.dataIndex]} bps)` } } }],
    },
    options: { scales: { x: ui.axis("hour of day"), y: Object.assign(ui.axis("price multiplier (x)"), { min: 1, max: 1.5 }) } },
  });
  ui.table(body.querySelector("#peak-days"), ["day", "reference PAR", "penalised hours", "largest", "recommendations"],
    days.slice().reverse().map((d) => [{ text: d.day, title: `block ${d.block}` },
      { text: ui.num(d.reference_par, 4), title: `${d.reference_par_bps} bps` }, d.penalised_hours, ui.num(d.max_multiplier, 2),
      d.recommended_participants === null ? "–" : `${d.recommended_participants} participants`]));
});
