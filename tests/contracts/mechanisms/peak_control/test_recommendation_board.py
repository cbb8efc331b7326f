"""RecommendationBoard: PAR_CONTROL commits one Merkle root of every participant's recommended schedule per day,
in the day's update window; a participant reads its own schedule with its proof outside update windows; every
bad input reverts with its own error and changes nothing; every day's root stays (the history)."""

import brownie
import pytest
from conftest import DAY, OPEN_LEAD, UPDATE, sleep_until
from contract_helpers import ALREADY_ACCEPTED, INVALID_TIMING, UNAUTHORIZED, custom_error

from offchain.chain.roles import role_id
from offchain.mechanisms.peak_control.commitments import commit_day


def schedules(prosumers, day):
    return {p.address: [1_000 * (i + 1) + h + day for h in range(24)] for i, p in enumerate(prosumers)}


def window(genesis, day):
    closes = genesis + day * DAY - OPEN_LEAD
    return closes - UPDATE, closes


def commit_in_window(board, chain, genesis, day, tree, sender):
    opens, _ = window(genesis, day)
    sleep_until(chain, opens)
    return board.commit(day, tree.root, len(tree.schedules), {"from": sender})


def read(board, tree, participant, schedule=None, proof=None):
    return board.recommendation(tree.day, participant, schedule or list(tree.schedules[participant]),
                                [bytes(p) for p in (tree.proofs[participant] if proof is None else proof)])


def test_commit_then_read_each_participants_schedule(board, par_control, prosumers, chain, genesis):
    tree = commit_day(2, schedules(prosumers, 2))
    tx = commit_in_window(board, chain, genesis, 2, tree, par_control)
    event = tx.events["RecommendationsCommitted"]
    assert (event["day"], bytes(event["root"]), event["participants"]) == (2, tree.root, 3)
    with brownie.reverts(custom_error("RecommendationsUpdating(uint256)", window(genesis, 2)[1])):
        read(board, tree, prosumers[0].address)
    sleep_until(chain, window(genesis, 2)[1])
    for p in prosumers:
        assert read(board, tree, p.address) == sum(tree.schedules[p.address])
    assert bytes(board.rootOf(2)) == tree.root and board.isAccepted(board.RECOMMENDATIONS(), 2)


def test_history_stays_readable(board, par_control, prosumers, chain, genesis):
    trees = [commit_day(d, schedules(prosumers, d)) for d in (2, 3)]
    for tree in trees:
        commit_in_window(board, chain, genesis, tree.day, tree, par_control)
    sleep_until(chain, window(genesis, 3)[1] + 1)
    for tree in trees:
        assert read(board, tree, prosumers[1].address) == sum(tree.schedules[prosumers[1].address])


def test_reads_revert_in_any_update_window(board, par_control, prosumers, chain, genesis):
    tree = commit_day(2, schedules(prosumers, 2))
    commit_in_window(board, chain, genesis, 2, tree, par_control)
    opens, closes = window(genesis, 3)
    sleep_until(chain, opens)
    assert [bool(board.updating()[0]), int(board.updating()[1])] == [True, closes]
    with brownie.reverts(custom_error("RecommendationsUpdating(uint256)", closes)):
        read(board, tree, prosumers[0].address)
    sleep_until(chain, closes)
    assert [bool(board.updating()[0]), int(board.updating()[1])] == [False, 0]


def test_commit_outside_the_window_reverts(board, par_control, prosumers, chain, genesis):
    tree = commit_day(3, schedules(prosumers, 3))
    opens, closes = window(genesis, 3)
    assert [int(t) for t in board.updateWindow(3)] == [opens, closes]
    with brownie.reverts(custom_error("OutsideUpdateWindow(uint256,uint256,uint256)", 3, opens, closes)):
        board.commit(3, tree.root, 3, {"from": par_control})
    sleep_until(chain, closes)
    with brownie.reverts(custom_error("OutsideUpdateWindow(uint256,uint256,uint256)", 3, opens, closes)):
        board.commit(3, tree.root, 3, {"from": par_control})
    assert bytes(board.rootOf(3)) == b"\x00" * 32


def test_bad_commitments_revert(board, par_control, prosumers, outsider, operator, chain, genesis):
    tree = commit_day(2, schedules(prosumers, 2))
    sleep_until(chain, window(genesis, 2)[0])
    with brownie.reverts(custom_error("EmptyRoot()")):
        board.commit(2, b"\x00" * 32, 3, {"from": par_control})
    for sender in (outsider, operator):
        with brownie.reverts(custom_error(UNAUTHORIZED, sender, role_id("PAR_CONTROL"))):
            board.commit(2, tree.root, 3, {"from": sender})
    board.commit(2, tree.root, 3, {"from": par_control})
    other = commit_day(2, schedules(prosumers[:2], 2))
    with brownie.reverts(custom_error(ALREADY_ACCEPTED, board.RECOMMENDATIONS(), 2)):
        board.commit(2, other.root, 2, {"from": par_control})
    assert bytes(board.rootOf(2)) == tree.root


def test_bad_reads_revert(board, par_control, prosumers, chain, genesis):
    tree = commit_day(2, schedules(prosumers, 2))
    commit_in_window(board, chain, genesis, 2, tree, par_control)
    sleep_until(chain, window(genesis, 2)[1])
    mine, theirs = prosumers[0].address, prosumers[1].address
    with brownie.reverts(custom_error("InvalidRecommendationProof(uint256,address)", 2, theirs)):
        read(board, tree, theirs, schedule=list(tree.schedules[mine]), proof=tree.proofs[mine])
    changed = list(tree.schedules[mine])
    changed[9] += 1
    with brownie.reverts(custom_error("InvalidRecommendationProof(uint256,address)", 2, mine)):
        read(board, tree, mine, schedule=changed)
    with brownie.reverts(custom_error("RecommendationLength(uint256,uint256)", 23, 24)):
        read(board, tree, mine, schedule=list(tree.schedules[mine])[:23])
    with brownie.reverts(custom_error("RecommendationsNotCommitted(uint256)", 5)):
        board.recommendation(5, mine, list(tree.schedules[mine]), [])


def test_constructor_rejects_bad_timing(RecommendationBoard, registry, admin):
    timing = (1_000, 3_600, 3_600, 600)
    with brownie.reverts(custom_error(INVALID_TIMING, *timing)):
        RecommendationBoard.deploy(registry, *timing, {"from": admin})


@pytest.mark.parametrize("participants", [1, 2, 5])
def test_python_tree_matches_the_contract_at_odd_sizes(board, par_control, accounts, chain, genesis, participants):
    tree = commit_day(2, {a.address: [7 * h + i for h in range(24)] for i, a in enumerate(accounts[:participants])})
    commit_in_window(board, chain, genesis, 2, tree, par_control)
    sleep_until(chain, window(genesis, 2)[1])
    for a in accounts[:participants]:
        assert read(board, tree, a.address) == sum(tree.schedules[a.address])
