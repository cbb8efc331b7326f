"""`kwx reproduce seed001-v2v [--chain]`: seed 001 ch. 4's figures off chain (federated PPO vs baselines,
PPO/SAC/A2C) and, with --chain, a day of the trained policy through the contracts and workers.
Heavy modules (torch, stable-baselines3) are imported inside the command."""

from __future__ import annotations

from pathlib import Path

import typer

from offchain.commands import fail, one_line_errors, prepare_out

#: Bounds of the options: training days per EV and learner, seeds, EVs.
MAX_EPISODES = 100_000
MAX_SEEDS = 10
MAX_EVS = 20
MAX_WORKERS = 8


@one_line_errors
def reproduce_seed001_v2v(
    out: Path = typer.Option(Path("out/seed001-v2v"), help="Output folder for seed001_v2v.md and the figures."),
    episodes: int = typer.Option(300, help=f"Training days per EV and learner, 10-{MAX_EPISODES} (the thesis: "
                                 "300K; the default runs in about 20 minutes on 2 cores)."),
    seeds: int = typer.Option(2, help=f"Seeds of the proposed method and the baselines, 1-{MAX_SEEDS}."),
    evs: int = typer.Option(5, help=f"EVs in the comparisons, 3-{MAX_EVS} (the thesis: 5)."),
    algorithms: bool = typer.Option(True, "--algorithms/--no-algorithms",
                                    help="Also train SAC and A2C (and PPO under uniform data) for Fig. 4.10."),
    workers: int = typer.Option(2, help="Learners trained at a time, each in its own process (1-8; 2 fits 2 cores)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    chain: bool = typer.Option(False, "--chain/--no-chain", help="Also run a day of the trained proposed policy "
                               "through the contracts and workers on an embedded chain, every figure checked against "
                               "the Python run (seed001-v2v-chain.md); the FedAvg rounds are recorded on chain."),
    chain_evs: int = typer.Option(5, help=f"EVs of the --chain day, 2-{MAX_EVS}."),
) -> None:
    """Seed 001 ch. 4: federated PPO with delta vs CDDPG and FRL without delta; PPO vs SAC vs A2C; Figs 4.6-4.12."""
    if not 10 <= episodes <= MAX_EPISODES:
        fail(f"--episodes must lie in 10-{MAX_EPISODES}, got {episodes}")
    if not 1 <= seeds <= MAX_SEEDS:
        fail(f"--seeds must lie in 1-{MAX_SEEDS}, got {seeds}")
    if not 3 <= evs <= MAX_EVS:
        fail(f"--evs must lie in 3-{MAX_EVS}, got {evs}")
    if not 1 <= workers <= MAX_WORKERS:
        fail(f"--workers must lie in 1-{MAX_WORKERS}, got {workers}")
    if not 2 <= chain_evs <= MAX_EVS:
        fail(f"--chain-evs must lie in 2-{MAX_EVS}, got {chain_evs}")
    prepare_out(out)
    from offchain.mechanisms.v2v.model import V2VConfig, run_model, write_report
    from offchain.progress import progress_bar

    store_dir = out / "models" if chain else None
    if store_dir is not None:
        store_dir.mkdir(parents=True, exist_ok=True)
    config = V2VConfig(episodes=episodes, seeds=seeds, evs=evs, algorithms=algorithms,
                       store_dir=None if store_dir is None else str(store_dir))
    with progress_bar(progress) as bar:
        task = bar.add_task("learners trained", total=None) if bar else None

        def tick(label: str, done: int, total: int) -> None:
            if bar is not None:
                bar.update(task, description=f"learners trained (last: {label})", completed=done, total=total)

        result = run_model(config, tick, workers=workers)
    path = write_report(result, out)
    typer.echo(f"Trained in {result.seconds / 60:.1f} min; wrote {len(result.files)} files; report: {path}")
    if chain:
        import tempfile

        from offchain.mechanisms.v2v.chain_run import reproduce_chain
        from offchain.mechanisms.v2v.learning import PROPOSED, TrainingRun, load_policy
        from offchain.workers.model_store import ModelStore

        outcome = result.outcomes[PROPOSED.label][0]
        run = TrainingRun(PROPOSED, [load_policy(PROPOSED, outcome.policy, config.setup)], [])
        with tempfile.TemporaryDirectory(prefix="kwx-v2v-") as work:
            chain_path, checks = reproduce_chain(out, run, chain_evs, config.setup, seed=0, beta=config.beta,
                                                 store=ModelStore(store_dir), round_hashes=outcome.rounds,
                                                 work_dir=Path(work))
        equal = sum(ok for _, ok, _ in checks)
        typer.echo(f"Chain day: {equal} of {len(checks)} figures equal the Python run; report: {chain_path}")
