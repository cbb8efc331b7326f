"""Seed 001 ch. 4 (Moniruzzaman): V2V energy trading at a workplace parking hotspot with federated RL. A
Gymnasium environment per EV, PPO/SAC/A2C learners averaged by FedAvg, PoSOC scores per EV and hour, the
hourly EV-to-EV settlement and the fee-dodger profit lock. docs/v2v.md, docs/v2v-contracts.md."""

from offchain.mechanisms.base import Mechanism, Reproduction

from .terms import V2VTerms, v2v_steps

MECHANISM = Mechanism(
    name="v2v",
    summary="seed 001 ch. 4: V2V trading with federated RL (PoSOC scores, hourly settlement, fee-dodger lock)",
    terms=V2VTerms(),
    deploy_steps=v2v_steps,
    reproductions=(Reproduction("seed001-v2v", f"{__name__}.command:reproduce_seed001_v2v"),),
)
