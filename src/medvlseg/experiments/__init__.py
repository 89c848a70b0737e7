"""Reproducible experiment tables on the phantom benchmark: arms × seeds → train → predict → evaluate → tables.

`experiments/<table>.py --budget {smoke,full}` define their arms and call `run_experiment`. Runs are keyed by a
hash of their resolved training config (seed excluded), so an arm shared by several tables trains once; each
finished (arm, seed) leaves a small JSON of metrics that later invocations (other sessions too) skip.
"""

from medvlseg.experiments.budget import BUDGETS, Budget
from medvlseg.experiments.runner import Arm, ExperimentResult, run_experiment

__all__ = ["BUDGETS", "Arm", "Budget", "ExperimentResult", "run_experiment"]
