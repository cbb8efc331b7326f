"""Kilowatt Exchange off-chain side: chain client, workers, algorithms, reference models, scenarios."""

__version__ = "0.1.0"
