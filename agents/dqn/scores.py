"""Published reference scores for Atari: human-normalised scores and the Nature DQN comparison.

Human-normalised score (HNS): ``(score - random) / (human - random)``, 0 = random play, 1 = the
professional human tester. The random and human scores are the Atari-57 table (undiscounted episode
returns, no-op starts, 108,000-frame cap) used by DeepMind since the Dueling / Agent57 papers and
distributed with DQN Zoo (Quan & Ostrovski 2020, ``dqn_zoo/atari_data.py``). It differs from the
49-game table of Mnih et al. 2015 for a few games (Pong human 14.6 there vs 9.3 in the Nature paper).

Nature DQN scores: Mnih et al. 2015, "Human-level control through deep reinforcement learning",
Extended Data Table 2 (nature protocol: 30 no-op starts, epsilon 0.05, 5-minute episodes), for the
games listed below.
"""

from __future__ import annotations

import math
import re

SCORE_TABLE_SOURCE = ("Atari-57 random / professional human scores (Badia et al. 2020, Agent57; "
                      "DQN Zoo atari_data.py)")
NATURE_DQN_SOURCE = "Mnih et al. 2015, Nature 518:529, Extended Data Table 2"

# game: (random, human)
_ATARI_57 = {
    "Alien": (227.8, 7127.7), "Amidar": (5.8, 1719.5), "Assault": (222.4, 742.0),
    "Asterix": (210.0, 8503.3), "Asteroids": (719.1, 47388.7), "Atlantis": (12850.0, 29028.1),
    "BankHeist": (14.2, 753.1), "BattleZone": (2360.0, 37187.5), "BeamRider": (363.9, 16926.5),
    "Berzerk": (123.7, 2630.4), "Bowling": (23.1, 160.7), "Boxing": (0.1, 12.1),
    "Breakout": (1.7, 30.5), "Centipede": (2090.9, 12017.0), "ChopperCommand": (811.0, 7387.8),
    "CrazyClimber": (10780.5, 35829.4), "Defender": (2874.5, 18688.9), "DemonAttack": (152.1, 1971.0),
    "DoubleDunk": (-18.6, -16.4), "Enduro": (0.0, 860.5), "FishingDerby": (-91.7, -38.7),
    "Freeway": (0.0, 29.6), "Frostbite": (65.2, 4334.7), "Gopher": (257.6, 2412.5),
    "Gravitar": (173.0, 3351.4), "Hero": (1027.0, 30826.4), "IceHockey": (-11.2, 0.9),
    "Jamesbond": (29.0, 302.8), "Kangaroo": (52.0, 3035.0), "Krull": (1598.0, 2665.5),
    "KungFuMaster": (258.5, 22736.3), "MontezumaRevenge": (0.0, 4753.3), "MsPacman": (307.3, 6951.6),
    "NameThisGame": (2292.3, 8049.0), "Phoenix": (761.4, 7242.6), "Pitfall": (-229.4, 6463.7),
    "Pong": (-20.7, 14.6), "PrivateEye": (24.9, 69571.3), "Qbert": (163.9, 13455.0),
    "Riverraid": (1338.5, 17118.0), "RoadRunner": (11.5, 7845.0), "Robotank": (2.2, 11.9),
    "Seaquest": (68.4, 42054.7), "Skiing": (-17098.1, -4336.9), "Solaris": (1236.3, 12326.7),
    "SpaceInvaders": (148.0, 1668.7), "StarGunner": (664.0, 10250.0), "Surround": (-10.0, 6.5),
    "Tennis": (-23.8, -8.3), "TimePilot": (3568.0, 5229.2), "Tutankham": (11.4, 167.6),
    "UpNDown": (533.4, 11693.2), "Venture": (0.0, 1187.5), "VideoPinball": (16256.9, 17667.9),
    "WizardOfWor": (563.5, 4756.5), "YarsRevenge": (3092.9, 54576.9), "Zaxxon": (32.5, 9173.3),
}

# game: Nature DQN mean evaluation score
_NATURE_DQN = {
    "Alien": 3069.0, "Assault": 3359.0, "Asterix": 6012.0, "Asteroids": 1629.0, "Atlantis": 85641.0,
    "BeamRider": 6846.0, "Boxing": 71.8, "Breakout": 401.2, "Enduro": 301.8, "Freeway": 30.3,
    "MsPacman": 2311.0, "Pong": 18.9, "Qbert": 10596.0, "Seaquest": 5286.0, "SpaceInvaders": 1976.0,
}


def _key(game: str) -> str:
    return re.sub(r"[^a-z0-9]", "", game.lower())


_BY_KEY = {_key(name): name for name in _ATARI_57}


def canonical_game(game: str) -> str | None:
    """The table's spelling of ``game`` ("space_invaders", "ALE/SpaceInvaders-v5" -> "SpaceInvaders")."""
    name = game.split("/")[-1]
    name = re.sub(r"(NoFrameskip)?-v\d+$", "", name)
    return _BY_KEY.get(_key(name))


def reference_scores(game: str) -> dict:
    """Random, human and Nature DQN scores of ``game`` (None where the tables lack it)."""
    name = canonical_game(game)
    random, human = _ATARI_57.get(name, (None, None)) if name else (None, None)
    return {"game": name or game, "random": random, "human": human,
            "nature_dqn": _NATURE_DQN.get(name) if name else None,
            "source": SCORE_TABLE_SOURCE, "nature_dqn_source": NATURE_DQN_SOURCE}


def human_normalized(game: str, score: float) -> float:
    """``(score - random) / (human - random)``; NaN for a game outside the table."""
    name = canonical_game(game)
    if name is None:
        return math.nan
    random, human = _ATARI_57[name]
    return (score - random) / (human - random)


def comparison_table(game: str, mean: float, protocol: str, episodes: int) -> str:
    """A markdown table: this agent against random, human and Nature DQN on ``game``."""
    ref = reference_scores(game)

    def cell(value):
        return "n/a" if value is None else f"{value:g}"

    hns = human_normalized(game, mean)
    rows = [
        "| agent | score | HNS |",
        "|---|---:|---:|",
        f"| this agent ({protocol}, {episodes} episodes) | {mean:.1f} | {cell(None if math.isnan(hns) else round(hns, 3))} |",
        f"| random | {cell(ref['random'])} | 0 |",
        f"| human | {cell(ref['human'])} | 1 |",
    ]
    if ref["nature_dqn"] is not None:
        nature_hns = human_normalized(game, ref["nature_dqn"])
        rows.append(f"| Nature DQN | {ref['nature_dqn']:g} | {nature_hns:.3f} |")
    rows.append("")
    rows.append(f"Sources: {SCORE_TABLE_SOURCE}; {NATURE_DQN_SOURCE}.")
    return "\n".join(rows)
