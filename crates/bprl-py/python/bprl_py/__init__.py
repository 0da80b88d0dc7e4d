"""bprl's multi-task environments (point mass, reacher) from Python.

``SuiteEnv`` is the Rust environment itself (``bprl_envs::SuiteEnv``, built from the same
settings as the TOML's ``[env]`` section); ``eval_seed(e)`` is the reset seed of bprl's
evaluation episode ``e``; ``bprl_py.gym.SuiteGymEnv`` wraps ``SuiteEnv`` as a
``gymnasium.Env`` (import it only where gymnasium is installed).

Observations, rewards and actions are float32 on the Rust side; Python receives floats that
hold those float32 values exactly.
"""

from ._native import SuiteEnv, eval_seed

__all__ = ["SuiteEnv", "eval_seed", "eval_seeds"]


def eval_seeds(n):
    """The reset seeds of bprl's ``n`` fixed evaluation episodes: ``eval_seed(0..n)``."""
    return [eval_seed(e) for e in range(n)]
