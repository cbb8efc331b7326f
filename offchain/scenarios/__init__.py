"""What every mechanism's reproduction shares: the chain-run harness (`harness`: embedded chain, deployment,
role clients, clock, gas ledger, workers opened from their specs) and the one Markdown table writer
(`markdown`). The reproductions themselves live in their mechanisms (offchain/mechanisms/<name>/)."""
