"""Frame replay for DQN on Atari: each frame stored once, stacks rebuilt at sample time, n-step returns,
uniform or proportional prioritized sampling (Schaul et al. 2016) over a numba sum tree.

Storage. ``capacity`` is cut into ``num_envs`` sub-rings of ``ring = capacity // num_envs`` slots; env ``e``
owns global slots ``[e * ring, (e + 1) * ring)``. A slot holds ONE frame ``uint8[H, W]`` (the newest frame of
an observation) plus the transition that starts from that observation::

    frames   uint8[S, H, W]   the frame
    actions  uint8[S]         action taken from this observation (Atari has <= 18 actions)
    rewards  float32[S]       reward of that step
    flags    uint8[S]         FIRST / FINAL / HAS_TRANSITION / TERMINAL / EPISODE_END bits below
    tree     float64[2 * L]   sum tree, L = next power of two >= S (0 = not sampleable)

An episode of T steps occupies T + 1 consecutive slots of its env's ring: ``begin`` writes its first frame
(FIRST), each ``add`` fills the current slot's transition and writes the next frame. The last observation of
an episode gets a slot only when it is needed, i.e. at a truncation (FINAL: bootstrap from it); after a
terminal game over it is never read (the discount is 0), so nothing is written. ``bytes_per_transition`` is
the allocated bytes per slot; the extra FINAL slots are one per truncated episode, i.e. at most one per
27,000 transitions under the 108,000-frame caps of both protocols.

Observation stack of slot ``s`` (``obs[b]`` is ``[stack, H, W]``, oldest first): frames ``s - stack + 1 .. s``
of the same env ring, except that frames older than the episode's FIRST slot are zeros. A life-loss terminal
is not a stack boundary. N-step return of slot ``s``: ``G = sum_{k<K} gamma^k r[s+k]`` where ``K <= n`` stops
at the first TERMINAL or EPISODE_END slot; ``discount = 0`` if that stop was a terminal, else
``gamma^K``; ``next_obs`` is the stack of slot ``s + K`` (a FINAL slot after a truncation), and all zeros
where ``discount == 0`` (it is multiplied by 0 and its frame may not exist).

Ring wrap-around: writing slot ``p`` destroys the oldest frame. The old transition at ``p`` and the old
transitions at ``p + 1 .. p + stack - 1`` whose stack reaches back to ``p`` (no FIRST in between) are made
unsampleable (priority 0); they are never zero-padded, so a sampled stack is always exactly what the agent
saw. A transition becomes sampleable once its n-step window is complete (``n`` more steps, or a stop).

Sampling is stratified: the tree total is cut into ``B`` equal segments and one point is drawn in each
(uniform replay uses the same tree with all priorities 1). Importance weights follow Schaul et al. 2016,
eq. (1) and section 3.4: ``w_i = (N * P(i))^-beta`` normalised by the batch maximum (not the global one).
Stored priorities are ``(|p| + eps)^alpha``; a new transition gets the largest stored priority so far.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import IO, NamedTuple

import numpy as np
from numba import njit

from tenuki.agents.dqn.sumtree import leaf_count_for, tree_get, tree_sample_stratified, tree_set
from tenuki.common.atomic import atomic_write

FLAG_FIRST = 1  # the slot holds the first frame of an episode: stacks read nothing older
FLAG_FINAL = 2  # the last frame of a truncated episode: read by next_obs stacks, no transition starts here
FLAG_HAS_TRANSITION = 4  # action / reward stored for the step from this observation
FLAG_TERMINAL = 8  # that step ended in a terminal (game over or training life loss): no bootstrap
FLAG_EPISODE_END = 16  # that step ended the episode (stack boundary): game over or time cap

# columns of env_state int64[E, 3]
HEAD, CURSOR, PENDING = 0, 1, 2  # next slot to write, slot of the current observation (-1: none), open windows
# entries of counters int64[4]
VALID, ADDED, EPISODES = 0, 1, 2

FORMAT = "tenuki-frame-replay"
FORMAT_VERSION = 1
_STATE_ARRAYS = ("frames", "actions", "rewards", "flags", "tree", "env_state", "counters", "max_priority")


class ReplayError(ValueError):
    """A misuse of the replay buffer: bad arguments, a call out of order, an empty buffer."""


class ReplayMemoryError(ReplayError):
    """The buffer would need more memory than the machine has available."""


class ReplayFileError(ReplayError):
    """A saved replay file that is missing, malformed or made with other settings."""


class ReplaySample(NamedTuple):
    """A batch of n-step transitions (B = batch size, F = stack, H x W frames)."""

    obs: np.ndarray  # uint8 [B, F, H, W]
    actions: np.ndarray  # int64 [B]
    returns: np.ndarray  # float32 [B]  n-step discounted reward sum
    next_obs: np.ndarray  # uint8 [B, F, H, W]  zeros where discounts == 0
    discounts: np.ndarray  # float32 [B]  gamma^K, 0 after a terminal
    indices: np.ndarray  # int64 [B]  slots, for update_priorities
    weights: np.ndarray  # float32 [B]  importance weights / batch max (ones for uniform replay)


# ----------------------------------------------------------------------------------------------- kernels


@njit(cache=True)
def _invalidate(tree, counters, slot):
    if tree_get(tree, slot) > 0.0:
        tree_set(tree, slot, 0.0)
        counters[VALID] -= 1


@njit(cache=True)
def _write_frame(frames, actions, rewards, flags, tree, counters, base, ring, stack, local, frame, new_flags):
    """Overwrite slot ``base + local`` with ``frame``, first making every old transition that reads it
    unsampleable: its own, and the next ``stack - 1`` ones whose stack reaches back to it."""
    slot = base + local
    _invalidate(tree, counters, slot)
    for j in range(1, stack):
        later = base + (local + j) % ring
        if flags[later] & FLAG_FIRST:
            break
        _invalidate(tree, counters, later)
    destination = frames[slot]
    for i in range(destination.shape[0]):  # an explicit loop: numba vectorizes it, slice assignment is ~15x slower
        destination[i] = frame[i]
    flags[slot] = new_flags
    actions[slot] = 0
    rewards[slot] = 0.0


@njit(cache=True)
def _complete(tree, counters, max_priority, slot, prioritized):
    value = max_priority[0] if prioritized else 1.0
    if tree_set(tree, slot, value) == 0.0:
        counters[VALID] += 1


@njit(cache=True)
def _complete_pending(tree, counters, max_priority, env_state, env, base, ring, newest, prioritized):
    """Make the env's open n-step windows sampleable: the PENDING transitions ending at slot ``newest``."""
    for j in range(env_state[env, PENDING]):
        _complete(tree, counters, max_priority, base + (newest - j + ring) % ring, prioritized)
    env_state[env, PENDING] = 0


@njit(cache=True)
def _begin(frames, actions, rewards, flags, tree, counters, max_priority, env_state, ring, stack, prioritized,
           env_ids, new_frames):
    for i in range(env_ids.shape[0]):
        env = env_ids[i]
        base = env * ring
        cursor = env_state[env, CURSOR]
        if cursor >= 0:
            # The episode is still open (e.g. after a resume): cut it here like a time limit, so its last
            # observation becomes the FINAL bootstrap frame of the windows still open.
            flags[base + cursor] |= FLAG_FINAL
            if not flags[base + cursor] & FLAG_FIRST:
                flags[base + (cursor - 1 + ring) % ring] |= FLAG_EPISODE_END
            _complete_pending(tree, counters, max_priority, env_state, env, base, ring, cursor - 1, prioritized)
        head = env_state[env, HEAD]
        _write_frame(frames, actions, rewards, flags, tree, counters, base, ring, stack, head, new_frames[i],
                     FLAG_FIRST)
        env_state[env, CURSOR] = head
        env_state[env, HEAD] = (head + 1) % ring
        env_state[env, PENDING] = 0
        counters[EPISODES] += 1


@njit(cache=True)
def _add(frames, actions, rewards, flags, tree, counters, max_priority, env_state, ring, stack, n_step,
         prioritized, env_ids, step_actions, step_rewards, terminals, episode_ends, next_frames):
    for i in range(env_ids.shape[0]):
        env = env_ids[i]
        base = env * ring
        cursor = env_state[env, CURSOR]
        slot = base + cursor
        actions[slot] = step_actions[i]
        rewards[slot] = step_rewards[i]
        new_flags = flags[slot] | FLAG_HAS_TRANSITION
        if terminals[i]:
            new_flags |= FLAG_TERMINAL
        if episode_ends[i]:
            new_flags |= FLAG_EPISODE_END
        flags[slot] = new_flags
        counters[ADDED] += 1
        head = env_state[env, HEAD]
        if terminals[i] or episode_ends[i]:
            # every open window stops at this step
            env_state[env, PENDING] += 1
            _complete_pending(tree, counters, max_priority, env_state, env, base, ring, cursor, prioritized)
        else:
            env_state[env, PENDING] += 1
            if env_state[env, PENDING] == n_step:
                _complete(tree, counters, max_priority, base + (cursor - n_step + 1 + ring) % ring, prioritized)
                env_state[env, PENDING] -= 1
        if not episode_ends[i]:
            _write_frame(frames, actions, rewards, flags, tree, counters, base, ring, stack, head, next_frames[i], 0)
            env_state[env, CURSOR] = head
            env_state[env, HEAD] = (head + 1) % ring
        elif not terminals[i]:
            _write_frame(frames, actions, rewards, flags, tree, counters, base, ring, stack, head, next_frames[i],
                         FLAG_FINAL)
            env_state[env, CURSOR] = -1
            env_state[env, HEAD] = (head + 1) % ring
        else:
            env_state[env, CURSOR] = -1


@njit(cache=True)
def _stack_into(frames, flags, base, ring, local, out):
    """out[stack, H*W] <- the stack of slot base + local, zeros before the episode's FIRST frame."""
    pad = False
    size = out.shape[1]
    for k in range(out.shape[0] - 1, -1, -1):
        destination = out[k]
        if pad:
            for i in range(size):
                destination[i] = 0
        else:
            slot = base + local
            source = frames[slot]
            for i in range(size):  # explicit loops vectorize; numba's slice assignment does not
                destination[i] = source[i]
            if flags[slot] & FLAG_FIRST:
                pad = True
            local = (local - 1 + ring) % ring


@njit(cache=True)
def _gather(frames, actions, rewards, flags, ring, n_step, gamma, indices, out_obs, out_next, out_actions,
            out_returns, out_discounts):
    for b in range(indices.shape[0]):
        slot = indices[b]
        base = (slot // ring) * ring
        local = slot - base
        _stack_into(frames, flags, base, ring, local, out_obs[b])
        out_actions[b] = actions[slot]
        total = 0.0
        discount = 1.0
        terminal = False
        step = 0
        while step < n_step:
            at = base + (local + step) % ring
            total += discount * rewards[at]
            discount *= gamma
            step += 1
            if flags[at] & FLAG_TERMINAL:
                terminal = True
                break
            if flags[at] & FLAG_EPISODE_END:
                break
        out_returns[b] = total
        if terminal:
            out_discounts[b] = 0.0
            zeros = out_next[b].reshape(-1)
            for i in range(zeros.shape[0]):
                zeros[i] = 0
        else:
            out_discounts[b] = discount
            _stack_into(frames, flags, base, ring, (local + step) % ring, out_next[b])


@njit(cache=True)
def _update_priorities(tree, max_priority, indices, priorities, alpha, eps):
    """Set (|p| + eps)^alpha on slots that are still sampleable (a slot overwritten since it was sampled
    stays at 0); returns how many were set."""
    updated = 0
    for i in range(indices.shape[0]):
        slot = indices[i]
        if tree_get(tree, slot) > 0.0:
            value = (abs(priorities[i]) + eps) ** alpha
            tree_set(tree, slot, value)
            max_priority[0] = max(max_priority[0], value)
            updated += 1
    return updated


# ----------------------------------------------------------------------------------------------- memory


def available_memory_bytes() -> int | None:
    """MemAvailable from /proc/meminfo (bytes), or free physical pages where that file is missing."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import os

        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


# ----------------------------------------------------------------------------------------------- buffer


class FrameReplay:
    """Replay of ``capacity`` frame slots split over ``num_envs`` env rings (see the module docstring)."""

    def __init__(self, capacity: int, num_envs: int = 1, *, stack: int = 4, frame_shape: tuple[int, int] = (84, 84),
                 n_step: int = 1, gamma: float = 0.99, prioritized: bool = False, alpha: float = 0.6,
                 priority_eps: float = 1e-6, seed: int = 0, memory_check: bool = True) -> None:
        if int(num_envs) < 1:
            raise ReplayError(f"num_envs must be >= 1, got {num_envs}")
        if int(stack) < 1 or int(n_step) < 1:
            raise ReplayError(f"stack and n_step must be >= 1, got stack={stack}, n_step={n_step}")
        if len(frame_shape) != 2 or min(frame_shape) < 1:
            raise ReplayError(f"frame_shape must be (height, width) > 0, got {frame_shape}")
        if not 0.0 <= gamma <= 1.0 or alpha < 0.0 or priority_eps <= 0.0:
            raise ReplayError(f"need 0 <= gamma <= 1, alpha >= 0, priority_eps > 0; got gamma={gamma}, "
                              f"alpha={alpha}, priority_eps={priority_eps}")
        self.num_envs = int(num_envs)
        self.ring = int(capacity) // self.num_envs
        if self.ring < stack + n_step + 1:
            raise ReplayError(f"capacity {capacity} gives {self.ring} slots per env; need >= stack + n_step + 1 "
                              f"= {stack + n_step + 1} per env ({num_envs} envs)")
        self.capacity = self.ring * self.num_envs
        self.stack, self.n_step = int(stack), int(n_step)
        self.frame_shape = (int(frame_shape[0]), int(frame_shape[1]))
        self.gamma, self.alpha, self.priority_eps = float(gamma), float(alpha), float(priority_eps)
        self.prioritized = bool(prioritized)
        self.seed = int(seed)
        if memory_check:
            self.check_memory(self.capacity, self.num_envs, stack=self.stack, frame_shape=self.frame_shape)
        height, width = self.frame_shape
        self.frames = np.zeros((self.capacity, height * width), dtype=np.uint8)  # pages are touched lazily
        self.actions = np.zeros(self.capacity, dtype=np.uint8)
        self.rewards = np.zeros(self.capacity, dtype=np.float32)
        self.flags = np.zeros(self.capacity, dtype=np.uint8)
        self.tree = np.zeros(2 * leaf_count_for(self.capacity), dtype=np.float64)
        self.env_state = np.zeros((self.num_envs, 3), dtype=np.int64)
        self.env_state[:, CURSOR] = -1
        self.counters = np.zeros(4, dtype=np.int64)
        self.max_priority = np.ones(1, dtype=np.float64)
        self._rng = np.random.Generator(np.random.PCG64(self.seed))
        self._all_envs = np.arange(self.num_envs, dtype=np.int64)

    # -- memory -------------------------------------------------------------------------------------------

    @staticmethod
    def estimate_bytes(capacity: int, num_envs: int = 1, *, stack: int = 4,
                       frame_shape: tuple[int, int] = (84, 84)) -> int:
        """Bytes the buffer allocates (frames, actions, rewards, flags, sum tree, per-env state). ``stack``
        costs nothing: stacks are rebuilt at sample time."""
        slots = (int(capacity) // int(num_envs)) * int(num_envs)
        per_slot = frame_shape[0] * frame_shape[1] + 1 + 4 + 1  # frame, action, reward, flags
        return slots * per_slot + 2 * leaf_count_for(slots) * 8 + num_envs * 3 * 8 + 4 * 8 + 8

    @staticmethod
    def check_memory(capacity: int, num_envs: int = 1, *, stack: int = 4, frame_shape: tuple[int, int] = (84, 84),
                     available_bytes: int | None = None) -> int:
        """The estimate; raises ReplayMemoryError when it exceeds ``available_bytes`` (default: MemAvailable)."""
        needed = FrameReplay.estimate_bytes(capacity, num_envs, stack=stack, frame_shape=frame_shape)
        available = available_memory_bytes() if available_bytes is None else int(available_bytes)
        if available is not None and needed > available:
            raise ReplayMemoryError(
                f"a replay of capacity {capacity} with {frame_shape[0]}x{frame_shape[1]} frames needs "
                f"{needed / 1e9:.2f} GB but only {available / 1e9:.2f} GB is available; lower replay_capacity "
                f"(at most about {int(available / (needed / max(capacity, 1))):,} transitions fit)")
        return needed

    @property
    def nbytes(self) -> int:
        """Bytes allocated by this buffer's arrays."""
        return sum(getattr(self, name).nbytes for name in _STATE_ARRAYS)

    @property
    def bytes_per_transition(self) -> float:
        """Allocated bytes per slot (frame 7,056 B at 84x84 + action 1 + reward 4 + flags 1 + sum tree ~16.8);
        FINAL slots of truncated episodes add at most one slot per truncated episode."""
        return self.nbytes / self.capacity

    # -- writing ------------------------------------------------------------------------------------------

    def _env_ids(self, env_ids, count_name: str) -> np.ndarray:
        if env_ids is None:
            return self._all_envs
        ids = np.asarray(env_ids, dtype=np.int64).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= self.num_envs):
            raise ReplayError(f"env_ids must be in [0, {self.num_envs}), got {ids.tolist()}")
        if np.unique(ids).size != ids.size:
            raise ReplayError(f"env_ids must not repeat in one {count_name} call, got {ids.tolist()}")
        return ids

    def _frames(self, frames, count: int, name: str) -> np.ndarray:
        frames = np.asarray(frames)
        if frames.dtype != np.uint8 or frames.shape != (count, *self.frame_shape):
            raise ReplayError(f"{name} must be uint8 {(count, *self.frame_shape)}, got {frames.dtype} "
                              f"{frames.shape}")
        return np.ascontiguousarray(frames).reshape(count, -1)

    def begin(self, frames: np.ndarray, env_ids=None) -> None:
        """Start episodes: ``frames`` uint8 [k, H, W] is the newest frame of each env's first observation.
        Calling it on an env whose episode is still open cuts that episode like a time limit."""
        ids = self._env_ids(env_ids, "begin")
        _begin(self.frames, self.actions, self.rewards, self.flags, self.tree, self.counters, self.max_priority,
               self.env_state, self.ring, self.stack, self.prioritized, ids, self._frames(frames, ids.size, "frames"))

    def add(self, actions, rewards, terminals, episode_ends, next_frames, env_ids=None) -> None:
        """One agent step for each env of ``env_ids`` (all when None), arrays of length k:
        ``terminals`` = no bootstrap; ``episode_ends`` = the episode is over (call ``begin`` next);
        ``next_frames`` uint8 [k, H, W] = newest frame of the next observation (the final one where the
        episode ended). An episode end without a terminal is a truncation: bootstrap from that frame."""
        ids = self._env_ids(env_ids, "add")
        count = ids.size
        step_actions = np.asarray(actions).reshape(-1)
        if step_actions.shape != (count,) or not np.issubdtype(step_actions.dtype, np.integer):
            raise ReplayError(f"actions must be {count} integers, got {step_actions.dtype} {step_actions.shape}")
        if count and (step_actions.min() < 0 or step_actions.max() > 255):
            raise ReplayError(f"actions must be in [0, 255], got {step_actions.tolist()}")
        step_rewards = np.asarray(rewards, dtype=np.float32).reshape(-1)
        step_terminals = np.asarray(terminals, dtype=np.bool_).reshape(-1)
        step_ends = np.asarray(episode_ends, dtype=np.bool_).reshape(-1)
        if not step_rewards.shape == step_terminals.shape == step_ends.shape == (count,):
            raise ReplayError(f"rewards, terminals and episode_ends must have length {count}")
        if count and (self.env_state[ids, CURSOR] < 0).any():
            missing = ids[self.env_state[ids, CURSOR] < 0].tolist()
            raise ReplayError(f"add() for envs {missing} whose episode has not begun: call begin() first")
        _add(self.frames, self.actions, self.rewards, self.flags, self.tree, self.counters, self.max_priority,
             self.env_state, self.ring, self.stack, self.n_step, self.prioritized, ids,
             step_actions.astype(np.uint8), step_rewards, step_terminals, step_ends,
             self._frames(next_frames, count, "next_frames"))

    # -- reading ------------------------------------------------------------------------------------------

    def __len__(self) -> int:
        """Number of sampleable transitions."""
        return int(self.counters[VALID])

    @property
    def num_added(self) -> int:
        """Transitions added since construction (sampleable or not)."""
        return int(self.counters[ADDED])

    def sampleable_indices(self) -> np.ndarray:
        """All slots that sampling can return, ascending (int64)."""
        leaves = self.tree[self.tree.shape[0] // 2:][: self.capacity]
        return np.flatnonzero(leaves > 0.0).astype(np.int64)

    def priorities(self, indices) -> np.ndarray:
        """Stored priorities (``(|p| + eps)^alpha``; 1 for uniform replay, 0 if not sampleable)."""
        return self.tree[self.tree.shape[0] // 2 + np.asarray(indices, dtype=np.int64)].copy()

    def gather(self, indices) -> ReplaySample:
        """The transitions at ``indices`` (which must be sampleable), with weights 1."""
        indices = np.ascontiguousarray(indices, dtype=np.int64).reshape(-1)
        if indices.size and (indices.min() < 0 or indices.max() >= self.capacity
                             or (self.priorities(indices) <= 0.0).any()):
            raise ReplayError(f"gather() needs sampleable slots, got {indices.tolist()[:8]}...")
        return self._gather(indices, np.ones(indices.size, dtype=np.float32))

    def _gather(self, indices: np.ndarray, weights: np.ndarray) -> ReplaySample:
        batch = indices.shape[0]
        height, width = self.frame_shape
        # One allocation for both stacks: two separate ~0.9 MB arrays make glibc trim and re-fault the heap
        # on every call (measured 1.3 ms per batch of 32 instead of 0.05 ms).
        both = np.empty((2, batch, self.stack, height * width), dtype=np.uint8)
        obs, next_obs = both[0], both[1]
        actions = np.empty(batch, dtype=np.int64)
        returns = np.empty(batch, dtype=np.float32)
        discounts = np.empty(batch, dtype=np.float32)
        _gather(self.frames, self.actions, self.rewards, self.flags, self.ring, self.n_step, self.gamma, indices,
                obs, next_obs, actions, returns, discounts)
        shape = (batch, self.stack, height, width)
        return ReplaySample(obs.reshape(shape), actions, returns, next_obs.reshape(shape), discounts, indices, weights)

    def sample(self, batch_size: int, beta: float = 0.4) -> ReplaySample:
        """``batch_size`` transitions, proportional to priority (uniform when not prioritized), stratified."""
        if len(self) == 0:
            raise ReplayError("sample() on a replay with no sampleable transition yet")
        if batch_size < 1:
            raise ReplayError(f"batch_size must be >= 1, got {batch_size}")
        indices = np.empty(batch_size, dtype=np.int64)
        tree_sample_stratified(self.tree, self._rng.random(batch_size), indices)
        if self.prioritized:
            probabilities = self.tree[self.tree.shape[0] // 2 + indices] / self.tree[1]
            weights = (len(self) * probabilities) ** (-float(beta))
            weights = (weights / weights.max()).astype(np.float32)
        else:
            weights = np.ones(batch_size, dtype=np.float32)
        return self._gather(indices, weights)

    def update_priorities(self, indices, priorities) -> int:
        """Set priorities (e.g. |TD error|) of sampled slots; no-op for uniform replay. Slots overwritten
        since they were sampled are skipped. Returns how many were set."""
        if not self.prioritized:
            return 0
        indices = np.ascontiguousarray(indices, dtype=np.int64).reshape(-1)
        values = np.ascontiguousarray(priorities, dtype=np.float64).reshape(-1)
        if values.shape != indices.shape:
            raise ReplayError(f"{indices.size} indices but {values.size} priorities")
        if indices.size and (indices.min() < 0 or indices.max() >= self.capacity):
            raise ReplayError(f"indices must be in [0, {self.capacity})")
        if not np.isfinite(values).all():
            raise ReplayError("priorities must be finite")
        return int(_update_priorities(self.tree, self.max_priority, indices, values, self.alpha, self.priority_eps))

    # -- persistence --------------------------------------------------------------------------------------

    def _settings(self) -> dict:
        return {"capacity": self.capacity, "num_envs": self.num_envs, "stack": self.stack,
                "frame_shape": list(self.frame_shape), "n_step": self.n_step, "gamma": self.gamma,
                "prioritized": self.prioritized, "alpha": self.alpha, "priority_eps": self.priority_eps}

    def save(self, path: str | Path) -> Path:
        """Write the whole state (arrays, counters, RNG) to an .npz file atomically (no pickle)."""
        meta = {"format": FORMAT, "version": FORMAT_VERSION, "settings": self._settings(),
                "rng": self._rng.bit_generator.state}
        arrays = {name: getattr(self, name) for name in _STATE_ARRAYS}

        def write(stream: IO[bytes]) -> None:
            np.savez(stream, meta=np.array(json.dumps(meta)), **arrays)

        return atomic_write(Path(path), write)

    def load(self, path: str | Path) -> None:
        """Restore a state written by ``save`` into this buffer (built with the same settings), so that
        sampling continues exactly as if the run had never stopped."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as archive:
                meta = json.loads(str(archive["meta"]))
                arrays = {name: archive[name] for name in _STATE_ARRAYS}
        except (OSError, KeyError, ValueError, io.UnsupportedOperation) as error:
            raise ReplayFileError(f"cannot read replay file {path}: {error}") from error
        if meta.get("format") != FORMAT or meta.get("version") != FORMAT_VERSION:
            raise ReplayFileError(f"{path} is not a {FORMAT} v{FORMAT_VERSION} file")
        if meta.get("settings") != self._settings():
            raise ReplayFileError(f"{path} was saved with settings {meta.get('settings')}, this buffer has "
                                  f"{self._settings()}")
        for name, array in arrays.items():
            current = getattr(self, name)
            if array.shape != current.shape or array.dtype != current.dtype:
                raise ReplayFileError(f"{path}: array {name} is {array.dtype} {array.shape}, expected "
                                      f"{current.dtype} {current.shape}")
        rng = np.random.Generator(np.random.PCG64())
        try:
            rng.bit_generator.state = meta["rng"]
        except (KeyError, TypeError, ValueError) as error:
            raise ReplayFileError(f"{path}: bad RNG state: {error}") from error
        for name, array in arrays.items():
            setattr(self, name, np.ascontiguousarray(array))
        self._rng = rng
