"""Reproductions of the seeds' tables and figures (`kwx reproduce ...`): one module per seed."""
