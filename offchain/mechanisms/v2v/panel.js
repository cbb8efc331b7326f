// Seed 001 ch. 4 (V2V trading with federated RL): energy each EV sold and bought from other EVs, its PoSOC
// score today, and the fee-dodger locks. Data: offchain/mechanisms/v2v/panel.py.
kwx.registerPanel("v2v", (root, data, ui) => {
  const body = ui.card(root, "v2v-body", `<div id="v2v-body">
    <p class="hint">Parked electric cars trade energy with each other every hour: a learned policy decides how much
      each sells (discharges) or buys (charges). Cars that give energy when it is scarce earn a higher proof score
      (PoSOC); at midnight the next aggregator is drawn in proportion to it. A car that does not pay its share of the
      aggregator's fee has its trading profit locked.</p>
    <div class="split even"><div class="chart-box"><canvas id="v2v-chart"></canvas></div>
      <div class="scroll"><table id="v2v-evs"></table></div></div>
    <h3>Aggregator draws <span class="hint">drawn on chain at midnight, in proportion to the day's PoSOC</span></h3>
    <div class="scroll"><table id="v2v-draws"></table></div>
    <h3>Locked profits <span class="hint">fee unpaid after its deadline</span></h3>
    <div class="scroll"><table id="v2v-locks"></table></div></div>`);
  const evs = data.evs;
  ui.chart(body.querySelector("#v2v-chart"), {
    type: "bar",
    data: {
      labels: evs.map((e) => ui.short(e.ev)),
      datasets: [
        { label: "sold", data: evs.map((e) => e.sold_kwh), backgroundColor: "#c0504d",
          tooltip: { callbacks: { label: (ctx) => `sold: ${ui.kwh(evs[ctx.dataIndex].sold_kwh)} (${evs[ctx.dataIndex].sold_wh} Wh)` } } },
        { label: "bought", data: evs.map((e) => e.bought_kwh), backgroundColor: "#2f6db5",
          tooltip: { callbacks: { label: (ctx) => `bought: ${ui.kwh(evs[ctx.dataIndex].bought_kwh)} (${evs[ctx.dataIndex].bought_wh} Wh)` } } },
      ],
    },
    options: { scales: { x: ui.axis("EV"), y: Object.assign(ui.axis("energy (kWh)"), { beginAtZero: true }) } },
  });
  ui.table(body.querySelector("#v2v-evs"), ["EV", "sold (kWh)", "bought (kWh)", "earned (UPOS)", `PoSOC day ${data.day ?? "–"}`, "draw weight"],
    evs.map((e) => [{ text: ui.short(e.ev), title: e.ev }, ui.num(e.sold_kwh, 3), ui.num(e.bought_kwh, 3),
      ui.upos(e.earned), ui.num(e.score, 3), ui.num(e.weight, 2)]));
  ui.table(body.querySelector("#v2v-draws"), ["day", "aggregator", "share of the day's weight"],
    data.draws.map((d) => [d.day, { text: ui.short(d.aggregator), title: d.aggregator },
      { text: ui.num(100 * d.share, 1) + " %", title: `block ${d.block}` }]));
  ui.table(body.querySelector("#v2v-locks"), ["day", "member", "held (UPOS)", "fee (UPOS)", "locked until"],
    data.locks.map((l) => [l.day, { text: ui.short(l.member), title: l.member }, ui.upos(l.held), ui.upos(l.fee),
      { text: new Date(l.until * 1000).toISOString(), title: `block ${l.block}` }]));
});
