"""Tests of agents.dqn."""
