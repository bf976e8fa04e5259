"""DQN family for Atari: Q-networks, frame replay (prioritized, n-step), agent, checkpoints."""
