"""Tests of tenuki.agents.dqn."""
