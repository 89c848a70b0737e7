"""Evaluation: overlap and surface metrics, clDice, case/batch evaluation, reports and overlay figures."""
