"""``SuiteGymEnv``: a bprl suite environment as a ``gymnasium.Env`` with ``Box`` spaces.

The dynamics, rewards and start states are the Rust environment's (``bprl_py.SuiteEnv``); this
wrapper only converts types. ``reset(options={"reset_seed": s})`` starts exactly the episode
``SuiteEnv.reset(s)`` starts (how the comparison evaluates on bprl's fixed start states, the
seeds of ``bprl_py.eval_seed``); a plain ``reset(seed=...)`` draws the episode's reset seed
from gymnasium's ``np_random``.
"""

import gymnasium as gym
import numpy as np

from ._native import SuiteEnv


class SuiteGymEnv(gym.Env):
    """A bprl suite (``body``, ``num_targets``, ``radius``, ``shaping``, ``max_steps``, ...:
    the keyword arguments of ``SuiteEnv``) as a gymnasium environment.

    ``terminated`` means the task was completed (``info["success"]``), ``truncated`` the time
    limit; ``info["reset_seed"]`` after ``reset`` is the Rust reset seed used.
    """

    metadata = {"render_modes": []}

    def __init__(self, **suite_kwargs):
        super().__init__()
        self.raw = SuiteEnv(**suite_kwargs)
        n = self.raw.observation_size
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(n,), dtype=np.float32)
        self.action_space = gym.spaces.Box(
            low=np.float32(self.raw.action_low),
            high=np.float32(self.raw.action_high),
            shape=(self.raw.action_size,),
            dtype=np.float32,
        )
        self.group_ranges = self.raw.group_ranges

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        if options is not None and "reset_seed" in options:
            reset_seed = int(options["reset_seed"])
        else:
            reset_seed = int(self.np_random.integers(0, 2**63 - 1))
        obs, info = self.raw.reset(reset_seed)
        info["reset_seed"] = reset_seed
        return np.asarray(obs, dtype=np.float32), info

    def step(self, action):
        a = np.asarray(action, dtype=np.float32).reshape(-1)
        obs, reward, terminated, truncated, info = self.raw.step(a.tolist())
        return np.asarray(obs, dtype=np.float32), float(reward), terminated, truncated, info
