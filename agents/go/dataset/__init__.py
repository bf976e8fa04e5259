"""tenuki.agents.go.dataset: expert games (Tom, KGS) as compact shards on disk, and a streaming loader
of training positions (``tenuki data build``; read by ``tenuki.agents.go.sl``).

Parts:

==========  =========================================================================================
``build``   SGF games to shards (``build_dataset``): each game checked, encoded as a ``StoredGame``,
            deduplicated and assigned to its split; every skipped game counted under its reason (the
            decisions are listed in that module's docstring)
``shards``  the on-disk format (**moves + replay**: 1-2 bytes a position, features computed when
            loading): constants, ``DatasetError``, ``StoredGame``, ``replay``, shard writing and
            reading (``load_shard``, ``read_meta``, ``GameShards``); the arrays of a shard are listed in
            that module's docstring
``stream``  ``PositionStream``, shuffled and symmetry-augmented training ``Batch``es, and ``augment`` /
            ``ACTION_SYMMETRIES``
==========  =========================================================================================

numpy and the Go rules only (no torch): this face loads every part. Modules of this package import
each other by their defining module, never through this face.
"""

from __future__ import annotations

from tenuki.agents.go.dataset.build import (
    MAX_KEPT_MESSAGES,
    SKIP_REASONS,
    build_dataset,
    encode_game,
    expand_sources,
    parse_rank,
    parse_winner,
    split_of,
)
from tenuki.agents.go.dataset.shards import (
    BOARD_SIZE,
    FORMAT_NAME,
    FORMAT_VERSION,
    KO_RULE,
    META_FILE,
    PASS_ACTION,
    SHARD_ARRAYS,
    SPLITS,
    WHITE_BIT,
    DatasetError,
    GameShards,
    StoredGame,
    load_shard,
    read_meta,
    replay,
)
from tenuki.agents.go.dataset.stream import ACTION_SYMMETRIES, Batch, PositionStream, augment

__all__ = [
    "ACTION_SYMMETRIES", "BOARD_SIZE", "FORMAT_NAME", "FORMAT_VERSION", "KO_RULE", "MAX_KEPT_MESSAGES",
    "META_FILE", "PASS_ACTION", "SHARD_ARRAYS", "SKIP_REASONS", "SPLITS", "WHITE_BIT",
    "Batch", "DatasetError", "GameShards", "PositionStream", "StoredGame",
    "augment", "build_dataset", "encode_game", "expand_sources", "load_shard", "parse_rank", "parse_winner",
    "read_meta", "replay", "split_of",
]
