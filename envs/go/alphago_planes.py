"""AlphaGo's input feature planes (Silver et al. 2016, Extended Data Table 2), in numba.

48 planes for the policy networks, 49 for the value network (the extra plane: the side to move is
black). All planes are seen by the side to move ("player"); one-hot groups put a point in exactly
one plane of the group, or in none when the feature does not apply there:

======  =====================  =================================================================
planes  feature                meaning (legal move = an empty point the player may play)
======  =====================  =================================================================
0..2    stone colour           player stone / opponent stone / empty
3       ones                   constant 1
4..11   turns since            a stone played 1, 2, ..., 7 moves ago; plane 11: 8 or more (and
                               every stone with no recorded move: setup stones, old history)
12..19  liberties              liberties of the chain of a stone: 1, 2, ..., 7, 8 or more
20..27  capture size           opponent stones a legal move would capture: 0, 1, ..., 6, 7+
28..35  self-atari size        own stones left in atari by a legal move: 1, ..., 7, 8+
36..43  liberties after move   liberties of the player's chain after a legal move: 1, ..., 7, 8+
44      ladder capture         the move puts an opponent chain in atari and a ladder captures it
45      ladder escape          the move saves a player chain in atari that a ladder would capture
46      sensibleness           legal and not filling one of the player's own eyes
47      zeros                  constant 0
48      player colour          (value network only) 1 when the player is black
======  =====================  =================================================================

Deviations from the paper, all documented here:

- legality ignores superko (simple ko only), as the paper's features do not say; a superko-illegal
  move is rare and costs one point of one plane;
- an "eye" (sensibleness) is the usual playout definition: the four neighbours are the player's
  stones or the edge, and of the diagonal points at most one is an opponent stone (none on the
  edge or in the corner);
- the ladder reader answers "is this chain captured by a ladder": the prey extends on its only
  liberty or captures an adjacent attacker chain in atari; the attacker then tries both liberties
  of a two-liberty prey; three liberties or more is an escape. Reading stops at ``LADDER_DEPTH``
  plies (an escape).

``fill_planes(st, recent, out)`` is the kernel (it lives in ``tenuki.envs.go`` so that the search can write
these planes at its leaves); ``alphago_planes(board)`` the convenient entry point for a ``Board``.
``tenuki.agents.go.features`` is the public face of this module.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from tenuki.envs.go.kernel_base import _neighbour, action_to_point, legal_out_offset, point_to_action
from tenuki.envs.go.kernels import legal_code, play
from tenuki.envs.go.layout import (
    BLACK,
    COUNT_SHIFT,
    EMPTY,
    H_KO,
    H_KO_COLOR,
    H_MOVE,
    H_N,
    H_OFF_MOVES,
    H_S,
    H_SUICIDE,
    H_TO_PLAY,
    H_W,
    LEGAL,
    OFF_COLOR,
    PASS_POINT,
    WHITE,
)

NUM_PLANES = 48
NUM_VALUE_PLANES = 49
RECENT = 7  # moves looked up for "turns since" (older stones go to the 8+ plane)
LADDER_DEPTH = 120  # plies of ladder reading before the prey is declared escaped

# First plane of each group.
P_PLAYER, P_OPPONENT, P_EMPTY, P_ONES = 0, 1, 2, 3
P_TURNS, P_LIBERTIES, P_CAPTURE, P_SELF_ATARI, P_LIBS_AFTER = 4, 12, 20, 28, 36
P_LADDER_CAPTURE, P_LADDER_ESCAPE, P_SENSIBLE, P_ZEROS, P_COLOUR = 44, 45, 46, 47, 48

PLANE_NAMES = (
    ["player", "opponent", "empty", "ones"]
    + [f"turns_since_{i}" for i in range(1, 8)] + ["turns_since_8+"]
    + [f"liberties_{i}" for i in range(1, 8)] + ["liberties_8+"]
    + [f"capture_size_{i}" for i in range(7)] + ["capture_size_7+"]
    + [f"self_atari_size_{i}" for i in range(1, 8)] + ["self_atari_size_8+"]
    + [f"liberties_after_{i}" for i in range(1, 8)] + ["liberties_after_8+"]
    + ["ladder_capture", "ladder_escape", "sensibleness", "zeros", "player_colour"]
)


# ----------------------------------------------------------------------------- chain helpers


@njit(cache=True)
def _chain_liberties(st, p, mark, stamp, out, limit):
    """Distinct liberties of the chain through stone p: their count (stops counting at ``limit``)
    and the first ones in ``out``. ``mark``/``stamp``: a scratch array and a fresh stamp value."""
    s_len = st[H_S]
    w = st[H_W]
    nxt = OFF_COLOR + 2 * s_len
    n = 0
    s = p
    while True:
        for d in range(4):
            q = _neighbour(s, w, d)
            if st[OFF_COLOR + q] == EMPTY and mark[q] != stamp:
                mark[q] = stamp
                if n < out.shape[0]:
                    out[n] = q
                n += 1
                if n >= limit:
                    return n
        s = st[nxt + s]
        if s == p:
            break
    return n


@njit(cache=True)
def _base_len(st):
    n = st[H_N]
    return legal_out_offset(st) + n * n + 1


@njit(cache=True)
def _atari_attackers(st, prey, mark, stamp, out):
    """Liberty points of the attacker chains in atari adjacent to the chain of ``prey`` (capturing
    moves for the prey); returns how many were written into ``out``."""
    s_len = st[H_S]
    w = st[H_W]
    head = OFF_COLOR + s_len
    nxt = OFF_COLOR + 2 * s_len
    attacker = 3 - st[OFF_COLOR + prey]
    libs = np.empty(2, np.int64)
    lmark = np.zeros(s_len, np.int64)
    count = 0
    s = prey
    while True:
        for d in range(4):
            q = _neighbour(s, w, d)
            if st[OFF_COLOR + q] == attacker:
                hq = st[head + q]
                if mark[hq] != stamp:
                    mark[hq] = stamp
                    if _chain_liberties(st, hq, lmark, 1, libs, 2) == 1 and count < out.shape[0]:
                        out[count] = libs[0]
                        count += 1
                    lmark[:] = 0
        s = st[nxt + s]
        if s == prey:
            break
    return count


@njit(cache=True)
def _libs_of(st, p, out):
    mark = np.zeros(st[H_S], np.int64)
    return _chain_liberties(st, p, mark, 1, out, 3)


# ----------------------------------------------------------------------------- ladders


KIND_PREY, KIND_ATTACKER = 0, 1
MAX_MOVES = 9  # the prey's options: capture one of up to 8 attacker chains in atari, or extend


@njit(cache=True)
def _frame_moves(st, prey, kind, moves):
    """Moves of a ladder node: the prey's extension and captures (KIND_PREY), or the attacker's
    ataris on the prey's two liberties (KIND_ATTACKER). Returns their count."""
    libs = np.empty(3, np.int64)
    _libs_of(st, prey, libs)
    if kind == KIND_ATTACKER:
        moves[0] = libs[0]
        moves[1] = libs[1]
        return 2
    mark = np.zeros(st[H_S], np.int64)
    k = _atari_attackers(st, prey, mark, 1, moves[: MAX_MOVES - 1])
    moves[k] = libs[0]
    return k + 1


@njit(cache=True)
def _attacker_node_value(st, prey):
    """The prey's owner just moved: 1 captured (no stone, or one liberty with the attacker to
    move), 0 escaped (three liberties or more), -1 to be read (two liberties)."""
    if st[OFF_COLOR + prey] == EMPTY:
        return 1
    libs = np.empty(3, np.int64)
    n = _libs_of(st, prey, libs)
    if n <= 1:
        return 1
    return 0 if n >= 3 else -1


@njit(cache=True)
def ladder_captured(st, prey, kind):
    """Ladder reading from ``st``: True when the chain through ``prey`` is captured. ``kind``:
    KIND_PREY (the chain is in atari and its owner moves) or KIND_ATTACKER (its owner just moved).

    An iterative depth-first AND-OR search (numba's cache does not survive recursion): the
    attacker wins a node when one of its ataris wins, the prey when one of its moves escapes."""
    if kind == KIND_ATTACKER:
        v = _attacker_node_value(st, prey)
        if v >= 0:
            return v == 1
    base = _base_len(st)
    prey_color = st[OFF_COLOR + prey]
    states = np.empty((LADDER_DEPTH + 1, base), np.int64)
    kinds = np.empty(LADDER_DEPTH + 1, np.int64)
    moves = np.empty((LADDER_DEPTH + 1, MAX_MOVES), np.int64)
    counts = np.empty(LADDER_DEPTH + 1, np.int64)
    nexts = np.zeros(LADDER_DEPTH + 1, np.int64)
    after = np.empty(3, np.int64)
    states[0, :] = st[:base]
    kinds[0] = kind
    counts[0] = _frame_moves(states[0], prey, kind, moves[0])
    depth = 0
    while True:
        result = -1
        f = depth
        if nexts[f] < counts[f]:
            m = moves[f, nexts[f]]
            nexts[f] += 1
            duplicate = False
            for j in range(nexts[f] - 1):
                if moves[f, j] == m:
                    duplicate = True
            if duplicate:
                continue
            child = states[f + 1]
            child[:] = states[f]
            color = prey_color if kinds[f] == KIND_PREY else 3 - prey_color
            if play(child, m, color, False) != LEGAL:
                continue
            if kinds[f] == KIND_PREY:
                v = _attacker_node_value(child, prey)
                if v < 0:
                    if f + 1 >= LADDER_DEPTH:
                        result = 0  # read too deep: call it an escape
                    else:
                        depth = f + 1
                        kinds[depth] = KIND_ATTACKER
                        nexts[depth] = 0
                        counts[depth] = _frame_moves(child, prey, KIND_ATTACKER, moves[depth])
                        continue
                else:
                    result = v
            else:
                if _libs_of(child, prey, after) != 1:
                    continue  # not an atari: not a ladder move
                if f + 1 >= LADDER_DEPTH:
                    result = 0
                else:
                    depth = f + 1
                    kinds[depth] = KIND_PREY
                    nexts[depth] = 0
                    counts[depth] = _frame_moves(child, prey, KIND_PREY, moves[depth])
                    continue
        else:
            # Exhausted: the prey found no escape (captured), the attacker no capture (escaped).
            result = 1 if kinds[f] == KIND_PREY else 0
            if f == 0:
                return result == 1
            depth = f - 1
        # Propagate ``result`` of a child into frame ``depth``, cutting decided frames.
        while True:
            decided = (kinds[depth] == KIND_PREY and result == 0) or (kinds[depth] == KIND_ATTACKER and result == 1)
            if not decided:
                break
            if depth == 0:
                return result == 1
            depth -= 1


@njit(cache=True)
def _ladder_planes(st, me, out):
    """Planes 44 (ladder capture) and 45 (ladder escape) for the player ``me``."""
    n = st[H_N]
    w = st[H_W]
    s_len = st[H_S]
    head = OFF_COLOR + s_len
    base = _base_len(st)
    other = 3 - me
    libs = np.empty(3, np.int64)
    mark = np.zeros(s_len, np.int64)
    stamp = 0
    seen = np.zeros(s_len, np.int64)
    moves = np.empty(9, np.int64)
    for r in range(n):
        for c in range(n):
            p = (r + 1) * w + c + 1
            col = st[OFF_COLOR + p]
            if col != BLACK and col != WHITE or st[head + p] != p:
                continue
            stamp += 1
            nl = _chain_liberties(st, p, mark, stamp, libs, 3)
            if col == other and nl == 2:
                # Ladder capture: atari on either liberty, then the ladder must work.
                for i in range(2):
                    m = libs[i]
                    child = st[:base].copy()
                    if play(child, m, me, False) != LEGAL:
                        continue
                    after = np.empty(3, np.int64)
                    if _libs_of(child, p, after) != 1:
                        continue
                    if ladder_captured(child, p, KIND_PREY):
                        out[P_LADDER_CAPTURE, (m // w) - 1, (m % w) - 1] = 1
            elif col == me and nl == 1:
                # Ladder escape: a move (extension or capture) after which the ladder fails.
                seen[:] = 0
                k = _atari_attackers(st, p, seen, 1, moves[:8])
                moves[k] = libs[0]
                for i in range(k + 1):
                    m = moves[i]
                    child = st[:base].copy()
                    if play(child, m, me, False) != LEGAL:
                        continue
                    if not ladder_captured(child, p, KIND_ATTACKER):
                        out[P_LADDER_ESCAPE, (m // w) - 1, (m % w) - 1] = 1


# ----------------------------------------------------------------------------- planes


@njit(cache=True)
def _is_own_eye(st, p, me):
    w = st[H_W]
    for d in range(4):
        c = st[OFF_COLOR + _neighbour(p, w, d)]
        if c != me and c != 3:  # 3: BORDER
            return False
    bad = 0
    edge = False
    for dr in (-1, 1):
        for dc in (-1, 1):
            c = st[OFF_COLOR + p + dr * w + dc]
            if c == 3:
                edge = True
            elif c == 3 - me:
                bad += 1
    return bad == 0 if edge else bad <= 1


@njit(cache=True)
def fill_planes(st, recent, out):
    """The 48 planes of the position in ``st`` for the side to move into ``out`` (uint8[>=48, N, N],
    zeroed here; a 49th plane, when present, gets the player colour).

    ``recent``: the points of the last moves, newest first (PASS_POINT for a pass), at most
    ``RECENT`` used; see ``recent_points``."""
    n = st[H_N]
    w = st[H_W]
    s_len = st[H_S]
    head = OFF_COLOR + s_len
    nxt = OFF_COLOR + 2 * s_len
    size = OFF_COLOR + 4 * s_len
    me = st[H_TO_PLAY]
    other = 3 - me
    out[:] = 0
    # Liberties of every chain, kept at its head.
    chain_libs = np.zeros(s_len, np.int64)
    mark = np.zeros(s_len, np.int64)
    stamp = 0
    dummy = np.empty(0, np.int64)
    for r in range(n):
        for c in range(n):
            p = (r + 1) * w + c + 1
            col = st[OFF_COLOR + p]
            if (col == BLACK or col == WHITE) and st[head + p] == p:
                stamp += 1
                chain_libs[p] = _chain_liberties(st, p, mark, stamp, dummy, 1 << 30)
    # Turns since: the newest recorded move at a point that still holds that colour.
    age = np.zeros(s_len, np.int64)
    for i in range(min(RECENT, recent.shape[0])):
        q = recent[i]
        if q != PASS_POINT and q > 0 and age[q] == 0:
            age[q] = i + 1
    heads = np.empty(4, np.int64)
    cap_heads = np.empty(4, np.int64)
    for r in range(n):
        for c in range(n):
            p = (r + 1) * w + c + 1
            col = st[OFF_COLOR + p]
            out[P_ONES, r, c] = 1
            if col == me or col == other:
                out[P_PLAYER if col == me else P_OPPONENT, r, c] = 1
                a = age[p]
                out[P_TURNS + (a - 1 if 0 < a <= RECENT else 7), r, c] = 1
                libs = chain_libs[st[head + p]]
                out[P_LIBERTIES + min(libs, 8) - 1, r, c] = 1
                continue
            out[P_EMPTY, r, c] = 1
            if p == st[H_KO] and me == st[H_KO_COLOR]:
                continue
            # Neighbour chains of the empty point: captured opponent chains, merged own chains.
            nh = 0
            ncap = 0
            captured = 0
            merged_size = 1
            for d in range(4):
                q = _neighbour(p, w, d)
                cq = st[OFF_COLOR + q]
                if cq != BLACK and cq != WHITE:
                    continue
                hq = st[head + q]
                dup = False
                for j in range(nh):
                    if heads[j] == hq:
                        dup = True
                if dup:
                    continue
                heads[nh] = hq
                nh += 1
                if cq == other and chain_libs[hq] == 1:
                    captured += st[size + hq]
                    cap_heads[ncap] = hq
                    ncap += 1
                elif cq == me:
                    merged_size += st[size + hq]
            # Liberties after the move: empty neighbours of the new chain (p excluded) and the
            # stones of captured chains next to it.
            stamp += 1
            libs_after = 0
            mark[p] = stamp
            for k in range(nh + 1):
                start = p
                if k < nh:
                    hk = heads[k]
                    if st[OFF_COLOR + hk] != me:
                        continue
                    start = hk
                s = start
                while True:
                    for d in range(4):
                        q = _neighbour(s, w, d)
                        cq = st[OFF_COLOR + q]
                        if mark[q] == stamp:
                            continue
                        if cq == EMPTY:
                            mark[q] = stamp
                            libs_after += 1
                        elif cq == other:
                            hq = st[head + q]
                            for j in range(ncap):
                                if cap_heads[j] == hq:
                                    mark[q] = stamp
                                    libs_after += 1
                    if k == nh:
                        break
                    s = st[nxt + s]
                    if s == start:
                        break
            if libs_after == 0 and st[H_SUICIDE] == 0:
                continue  # suicide: illegal
            out[P_CAPTURE + min(captured, 7), r, c] = 1
            if libs_after == 1:
                out[P_SELF_ATARI + min(merged_size, 8) - 1, r, c] = 1
            if libs_after > 0:
                out[P_LIBS_AFTER + min(libs_after, 8) - 1, r, c] = 1
            if not _is_own_eye(st, p, me):
                out[P_SENSIBLE, r, c] = 1
    _ladder_planes(st, me, out)
    if out.shape[0] > P_COLOUR and me == BLACK:
        out[P_COLOUR, :, :] = 1


@njit(cache=True)
def recent_points(st):
    """The points of the last ``RECENT`` recorded moves of a Board state, newest first."""
    k = st[H_MOVE]
    m = min(RECENT, k)
    out = np.empty(m, np.int64)
    n = st[H_N]
    w = st[H_W]
    for i in range(m):
        packed = st[st[H_OFF_MOVES] + k - 1 - i]
        a = packed % COUNT_SHIFT
        out[i] = PASS_POINT if a == n * n else (a // n + 1) * w + a % n + 1
    return out


def alphago_planes(board, value: bool = False, out: np.ndarray | None = None) -> np.ndarray:
    """uint8[48, N, N] planes of ``board`` for its side to move (49 with ``value=True``)."""
    n = board.size
    planes = NUM_VALUE_PLANES if value else NUM_PLANES
    if out is None:
        out = np.zeros((planes, n, n), np.uint8)
    elif out.shape != (planes, n, n) or out.dtype != np.uint8:
        raise ValueError(f"out must be uint8[{planes}, {n}, {n}], got {out.dtype}{list(out.shape)}")
    st = board._st
    fill_planes(st, recent_points(st), out)
    return out


def ladder_attacks(board, action: int) -> list[int]:
    """Actions that capture the chain through ``action`` (two liberties, the attacker to move) by
    ladder: the attacker's ataris that the ladder reader wins. [] when the chain has another
    number of liberties or escapes."""
    st = board._st
    p = action_to_point(st, int(action))
    colour = int(st[OFF_COLOR + p])
    if colour not in (BLACK, WHITE):
        raise ValueError(f"no stone at action {action}")
    libs = np.empty(3, np.int64)
    if _libs_of(st, p, libs) != 2:
        return []
    base = int(_base_len(st))
    found = []
    for m in libs[:2]:
        child = st[:base].copy()
        if play(child, m, 3 - colour, False) != LEGAL or _libs_of(child, p, np.empty(3, np.int64)) != 1:
            continue
        if ladder_captured(child, p, KIND_PREY):
            found.append(int(point_to_action(st, m)))
    return sorted(found)


def feature_fn(value: bool = False):
    """A ``board -> planes`` function for the dataset loader."""
    return lambda board: alphago_planes(board, value=value)


__all__ = [
    "NUM_PLANES", "NUM_VALUE_PLANES", "PLANE_NAMES", "alphago_planes", "feature_fn", "fill_planes",
    "ladder_attacks", "ladder_captured", "recent_points",
] + [name for name in globals() if name.startswith("P_")]

assert len(PLANE_NAMES) == NUM_VALUE_PLANES
assert legal_code is not None and WHITE == 2
