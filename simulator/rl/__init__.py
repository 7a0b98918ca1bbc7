"""Reinforcement learning on Agora's worlds: every scenario as a PettingZoo environment.

Needs the ``rl`` extra (``pip install 'agora[rl]'``: pettingzoo, gymnasium).
``agora_env`` / ``agora_parallel_env`` build the AEC / Parallel environments
(``simulator.rl.env``); ``simulator.rl.qlearning`` trains independent tabular
Q-learners and saves them as ``learned`` policy files (``agents.learned``).
"""

try:
    import gymnasium  # noqa: F401
    import pettingzoo  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError("simulator.rl needs the rl extra: pip install 'agora[rl]' (pettingzoo, gymnasium)") from exc

from simulator.rl.env import AgoraAECEnv, AgoraParallelEnv, agora_env, agora_parallel_env  # noqa: E402

__all__ = ["AgoraAECEnv", "AgoraParallelEnv", "agora_env", "agora_parallel_env"]
