"""Atari game names: the canonical name ("Pong", "MsPacman") and ale-py's ROM id ("pong", "ms_pacman").

Accepted spellings of a game: the canonical name, the ROM id, a gymnasium id ("ALE/Pong-v5"), any case.
"""

from __future__ import annotations

from functools import lru_cache

from tenuki.envs.atari.errors import AtariConfigError


def _key(name: str) -> str:
    return name.replace("_", "").replace("-", "").lower()


@lru_cache(maxsize=1)
def _rom_ids_by_key() -> dict[str, str]:
    from ale_py import roms

    return {_key(rom_id): rom_id for rom_id in roms.get_all_rom_ids()}


def rom_id(game: str) -> str:
    """ale-py's ROM id of ``game`` (``"Pong"``, ``"pong"``, ``"ALE/Pong-v5"`` -> ``"pong"``)."""
    if not isinstance(game, str) or not game:
        raise AtariConfigError(f"an Atari game is a non-empty name like 'Pong', got {game!r}")
    name = game.split("/", 1)[1] if game.startswith("ALE/") else game
    for suffix in ("-v5", "-v4", "NoFrameskip", "Deterministic"):
        name = name.removesuffix(suffix)
    found = _rom_ids_by_key().get(_key(name))
    if found is None:
        known = sorted(canonical_game_name(rom) for rom in _rom_ids_by_key().values())
        raise AtariConfigError(
            f"unknown Atari game {game!r}; known games ({len(known)}): {', '.join(known[:12])}, ...")
    return found


def canonical_game_name(game: str) -> str:
    """The canonical name of ``game`` as gymnasium spells it (``"ms_pacman"`` -> ``"MsPacman"``)."""
    return rom_id(game).title().replace("_", "")


def all_games() -> list[str]:
    """Canonical names of every ROM shipped with ale-py."""
    return sorted(canonical_game_name(rom) for rom in _rom_ids_by_key().values())
