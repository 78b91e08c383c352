"""Simulation studies: random streams, the resumable study file, the runner, the
large-sample truth and the performance measures with their Monte Carlo errors."""
