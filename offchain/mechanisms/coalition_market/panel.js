// Seed 001 ch. 3 (cooperative coalition market): coalitions, proof scores, draw probabilities, stakes, escrow and
// slashes. Data: offchain/mechanisms/coalition_market/panel.py.
kwx.registerPanel("coalition_market", (root, data, ui) => {
  const body = ui.card(root, "coal-body", `<div id="coal-body">
    <p class="hint">Each slot, nearby prosumers are grouped into coalitions that trade among themselves first. A
      coalition's proof score measures the energy it shares; the block producer (miner) of the slot is drawn among
      coalitions with a probability proportional to their score. A drawn validator that misses its block is slashed
      (part of its staked score is burned) and the draw repeats.</p>
    <div class="split even"><div class="chart-box"><canvas id="coal-chart"></canvas></div>
      <div class="scroll"><table id="coal-coalitions"></table></div></div>
    <div class="split3"><div><h3>Participants of the latest slot</h3><div class="scroll"><table id="coal-members"></table></div></div>
      <div><h3>Slots</h3><div class="scroll"><table id="coal-slots"></table></div></div>
      <div><h3>Slashes</h3><div class="scroll"><table id="coal-slashes"></table></div></div></div></div>`);
  const latest = data.latest || { slot: "–", coalitions: [], members: [] };
  const rows = latest.coalitions;
  ui.chart(body.querySelector("#coal-chart"), {
    type: "bar",
    data: {
      labels: rows.map((c) => `coalition ${c.coalition}`),
      datasets: [{ label: `chance to be drawn as miner, slot ${latest.slot}`, data: rows.map((c) => 100 * c.probability),
        backgroundColor: rows.map((c) => c.status.startsWith("mined") ? "#2e9d5b" : c.status.includes("penalised") ? "#d2553f" : "#2f6db5"),
        tooltip: { callbacks: { label: (ctx) => { const c = rows[ctx.dataIndex];
          return `${(100 * c.probability).toFixed(2)} % = score ${c.score} / ${latest.total_score} EPOS (${c.score_base} base units)`; } } } }],
    },
    options: { scales: { x: ui.axis("coalition"), y: Object.assign(ui.axis("draw probability (%)"), { beginAtZero: true }) } },
  });
  ui.table(body.querySelector("#coal-coalitions"), ["coalition", "members", "score (EPOS)", "draw chance", "stake (EPOS)", "outcome"],
    rows.map((c) => [c.coalition, c.size, { text: ui.num(c.score, 3), title: `${c.score_base} base units` },
      `${(100 * c.probability).toFixed(1)} %`, { text: ui.num(c.stake_epos, 3), title: `validator ${c.validator}` }, c.status || "–"]));
  ui.table(body.querySelector("#coal-members"), ["participant", "coalition", { text: "alone", title: "proof score trading alone (EPOS)" },
    { text: "in coalition", title: "proof score as a coalition member (EPOS)" }, "escrow (UPOS)"],
    latest.members.map((m) => [{ text: ui.short(m.account), title: m.account }, m.coalition, ui.num(m.singleton_score, 3),
      ui.num(m.member_score, 3), { text: ui.num(m.escrow_upos, 2), title: `${m.escrow_upos} UPOS held by the reward escrow` }]));
  ui.table(body.querySelector("#coal-slots"), ["slot", "coalitions", "score (EPOS)", "outcome", "reward (UPOS)"],
    data.slots.map((s) => [s.slot, s.coalitions, ui.num(s.total_score, 2),
      { text: s.outcome, title: `${s.draws} draw(s), ${s.penalties} penalty(ies)` }, s.reward_upos === null ? "–" : ui.num(s.reward_upos, 4)]));
  ui.table(body.querySelector("#coal-slashes"), ["slot", "validator", "reason", "burned (EPOS)"],
    data.slashes.map((s) => [{ text: s.slot, title: `attempt ${s.attempt}, block ${s.block}` }, { text: ui.short(s.validator), title: s.validator },
      s.reason, ui.num(s.burned_epos, 3)]));
});
