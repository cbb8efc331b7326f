"""The pipeline's send order (offchain/chain/batch.py): a JSON-RPC batch holds at most one transaction per account,
so a node that handles a batch's requests concurrently never gets an account's transactions out of nonce order
(Anvil then left them queued for good: 2 of ~80 windows of 64 mints from one account in a stress run)."""

from __future__ import annotations

from offchain.chain import batch


def test_one_accounts_transactions_never_share_a_batch_and_keep_their_order(monkeypatch):
    batches = []

    def answer_each(w3, calls):
        batches.append([params[0] for _, params in calls])
        return [{"result": params[0]} for _, params in calls]

    monkeypatch.setattr(batch, "rpc_batch", answer_each)
    raws = [("a", "a0"), ("b", "b0"), ("a", "a1"), ("a", "a2"), ("c", "c0"), ("b", "b1")]
    answers = batch._send_in_nonce_order(None, raws)
    assert batches == [["a0", "b0", "c0"], ["a1", "b1"], ["a2"]]
    assert [a["result"] for a in answers] == [raw for _, raw in raws]  # each answer at its transaction's place
    assert batch._send_in_nonce_order(None, []) == [] and batches[3:] == []
