"""Data: seeded synthetic generators calibrated to the seeds, and loaders for the real datasets."""
