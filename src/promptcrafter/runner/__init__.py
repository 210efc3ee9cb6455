"""Executes runs (EVALUATION.md §10): each server process claims queued calls from the database,
calls the models, scores the answers and stores them as logs."""

from promptcrafter.runner.worker import Runner

__all__ = ["Runner"]
