// Seed 003 ch. 5-6 (Proof-of-Benefit): finalised rounds, their winning blocks and benefits, and exclusions.
// Data: offchain/mechanisms/proof_of_benefit/panel.py.
kwx.registerPanel("proof_of_benefit", (root, data, ui) => {
  const body = ui.card(root, "pob-body", `<div id="pob-body">
    <p class="hint">Every round, peers propose a schedule for the waiting energy orders and its benefit: the
      reciprocal of how much the area's net load swings. The block with the highest benefit that more than half the
      peers (plus one) recomputed and confirmed wins; the chain score adds up the winners' benefits. A peer that
      claims a benefit its own numbers do not give is excluded.</p>
    <div class="split even"><div><h3>Rounds</h3><div class="scroll"><table id="pob-rounds"></table></div></div>
      <div><h3>Excluded peers</h3><div class="scroll"><table id="pob-excluded"></table></div></div></div></div>`);
  const rounds = data.rounds || [];
  ui.table(body.querySelector("#pob-rounds"), ["round", "winner", "benefit (1/kW²)", "peers"],
    rounds.map((r) => [r.round, r.winner ? { text: ui.short(r.winner), title: `proposer ${r.proposer}` } : "no valid block",
      { text: ui.num(r.lambda, 3), title: `${r.lambda_int} (on chain); chain score ${r.score_int}` }, r.peers]));
  ui.table(body.querySelector("#pob-excluded"), ["round", "peer", "claimed", "computed"],
    (data.excluded || []).map((e) => [e.round, ui.short(e.peer), e.claimed, e.computed]));
});
