"""Differential test of EnergyOrderBook against offchain.market. A package, so that its conftest is
imported as `market_diff.conftest` and does not replace the shared `conftest` module that test files
in tests/contracts import helpers from."""
