"""AlphaGo's 48 (+1) input feature planes (Silver et al. 2016, Extended Data Table 2).

The numba kernels live in ``tenuki.envs.go.alphago_planes`` (the search writes these planes at its leaves
and may not import ``agents``); this module is their public face for the networks, the dataset
and the trainers. See that module for the plane table and the deviations from the paper.
"""

from tenuki.envs.go.alphago_planes import (  # noqa: F401
    KIND_ATTACKER,
    KIND_PREY,
    LADDER_DEPTH,
    NUM_PLANES,
    NUM_VALUE_PLANES,
    P_CAPTURE,
    P_COLOUR,
    P_EMPTY,
    P_LADDER_CAPTURE,
    P_LADDER_ESCAPE,
    P_LIBERTIES,
    P_LIBS_AFTER,
    P_ONES,
    P_OPPONENT,
    P_PLAYER,
    P_SELF_ATARI,
    P_SENSIBLE,
    P_TURNS,
    P_ZEROS,
    PLANE_NAMES,
    alphago_planes,
    feature_fn,
    fill_planes,
    ladder_attacks,
    ladder_captured,
    recent_points,
)
