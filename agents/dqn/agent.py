"""The DQN agent: epsilon-greedy acting and one gradient update on a replay sample.

Variants (by ``config.agent``), all sharing one update::

    y      = returns + discounts * Q_target(next_obs, a*)                         # [B]
    a*     = argmax_a Q_target(next_obs, a)        (Nature DQN, Mnih et al. 2015)
           = argmax_a Q_online(next_obs, a)        (double: van Hasselt et al. 2016, eq. 4)
    td     = y - Q_online(obs, action)                                            # [B]
    loss   = mean_b w_b * huber(td_b)  or  mean_b w_b * td_b^2                   # w = 1 unless prioritized

``returns`` and ``discounts`` come from the replay (``agents/dqn/replay.py``): with n-step returns
(Sutton 1988) ``returns = sum_{k<K} gamma^k r_{t+k}`` and ``discounts = gamma^K``, 0 after a terminal, so
the agent never needs gamma or n itself, and truncations bootstrap (their discount is not 0). Prioritized
replay (Schaul et al. 2016): ``w`` are the sample's importance weights and the update returns the new
priorities ``|td|`` (the replay adds its epsilon and applies alpha). Dueling is the network's business
(``networks.py``). Huber has delta 1 (``0.5 td^2`` inside [-1, 1]): Nature's error clipping.

The target network is a copy of the online one, synced every ``target_update_every / train_every``
updates (``target_update_every`` counts agent steps, like CleanRL's ``target_network_frequency``).

Speed (a 2-core CPU; the issue asks for >= 1.3x a plain CleanRL-style update, see ``bench/dqn_update.py``):

- bfloat16 autocast where the hardware has it (``train.precision: auto``), float32 output layers;
- channels-last weights (and inputs on CUDA), the convolutions' fast layout (on this CPU it is worth
  little: within the noise);
- the target pass, and for double DQN the online pass on ``next_obs``, under ``torch.inference_mode``:
  a separate no-grad forward of the online net on ``next_obs`` is cheaper than one forward on
  ``cat(obs, next_obs)`` with gradients (that one pays the backward pass for the whole 2B batch);
- fused Adam (foreach RMSProp), gradients set to None, and one device-to-host copy per update.
"""

from __future__ import annotations

import copy
import functools
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tenuki.agents.dqn.config import AgentConfig, DQNConfig
from tenuki.agents.dqn.networks import NatureQNetwork


class DQNAgentError(ValueError):
    """A misuse of the agent: bad observations, a state from another agent."""


class ReplaySampleLike(Protocol):
    """What ``update`` reads from a batch (``tenuki.agents.dqn.replay.ReplaySample`` has it)."""

    obs: np.ndarray  # uint8[B, stack, H, W]
    actions: np.ndarray  # int64[B]
    returns: np.ndarray  # float32[B]  n-step discounted reward sum
    next_obs: np.ndarray  # uint8[B, stack, H, W]
    discounts: np.ndarray  # float32[B]  gamma^K, 0 after a terminal
    indices: np.ndarray  # int64[B]
    weights: np.ndarray  # float32[B]  importance weights (ones when uniform)


# ----------------------------------------------------------------------------------- schedules


def _agent_section(config: DQNConfig | AgentConfig) -> AgentConfig:
    return config.agent if isinstance(config, DQNConfig) else config


def epsilon_at(step: int, config: DQNConfig | AgentConfig) -> float:
    """Exploration rate after ``step`` agent steps: linear from ``epsilon_start`` to ``epsilon_end`` over
    ``epsilon_decay_steps`` steps, then ``epsilon_end`` (Mnih et al. 2015; CleanRL's ``linear_schedule``)."""
    agent = _agent_section(config)
    if agent.epsilon_decay_steps <= 0 or step >= agent.epsilon_decay_steps:
        return agent.epsilon_end
    fraction = max(step, 0) / agent.epsilon_decay_steps
    return agent.epsilon_start + fraction * (agent.epsilon_end - agent.epsilon_start)


def final_epsilons(config: DQNConfig) -> np.ndarray:
    """float64[num_envs]: each environment's final epsilon under ``agent.epsilon_spread`` (Ape-X, Horgan et
    al. 2018, gives each actor its own fixed epsilon): ``epsilon_end * spread ** (i / (N - 1) - 1/2)``, a
    geometric ladder whose geometric mean is ``epsilon_end``; all ``epsilon_end`` with a spread of 1 or one
    environment."""
    agent, n = config.agent, config.env.num_envs
    if n == 1 or agent.epsilon_spread == 1.0:
        return np.full(n, agent.epsilon_end)
    return agent.epsilon_end * agent.epsilon_spread ** (np.arange(n) / (n - 1) - 0.5)


def epsilons_at(step: int, config: DQNConfig) -> np.ndarray:
    """float64[num_envs]: every environment's exploration rate after ``step`` agent steps: linear from
    ``epsilon_start`` to its own final epsilon (``final_epsilons``) over ``epsilon_decay_steps``, then flat.
    With no spread every entry is ``epsilon_at(step, config)``."""
    agent = config.agent
    ends = final_epsilons(config)
    if agent.epsilon_decay_steps <= 0 or step >= agent.epsilon_decay_steps:
        return ends
    fraction = max(step, 0) / agent.epsilon_decay_steps
    return agent.epsilon_start + fraction * (ends - agent.epsilon_start)


def priority_beta_at(step: int, config: DQNConfig) -> float:
    """Importance-sampling exponent after ``step`` agent steps: linear from ``priority_beta_start`` to 1
    over ``train.total_steps`` (Schaul et al. 2016, section 3.4)."""
    start = config.agent.priority_beta_start
    fraction = min(max(step, 0) / config.train.total_steps, 1.0)
    return start + fraction * (1.0 - start)


# ------------------------------------------------------------------------------------- devices


# Inference batches below this run in float32 on the CPU: one frame (acting) took 1.5 ms in float32 and
# 2.5 ms under bfloat16 autocast on this CPU, which re-casts the 1.7M weights on every call (8 frames: 4.5 vs
# 4.2 ms, 32 frames: 14.3 vs 7.9 ms).
CPU_AUTOCAST_MIN_INFERENCE_BATCH = 8


@functools.cache
def _cpu_has_fast_bfloat16() -> bool:
    """AVX512-BF16 or AMX: oneDNN then runs bfloat16 convolutions natively (else it emulates them, slowly)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        pass
    return False


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; other names as torch reads them."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def resolve_precision(name: str, device: torch.device) -> torch.dtype:
    """The autocast dtype (``torch.float32``: no autocast) for ``train.precision`` on ``device``."""
    if name == "float32":
        return torch.float32
    if name == "bfloat16":
        return torch.bfloat16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float32
    return torch.bfloat16 if device.type == "cpu" and _cpu_has_fast_bfloat16() else torch.float32


# --------------------------------------------------------------------------------------- agent


class DQNAgent:
    """Online and target Q-networks, their optimizer and the update rule chosen by ``config.agent``.

    ``q_network``: use this (online) network instead of a ``NatureQNetwork`` (tests train tiny ones);
    any module mapping uint8 frames [B, ...] to float32 Q-values [B, num_actions] works, but only a
    ``NatureQNetwork`` can be checkpointed. ``device`` / ``seed`` override ``config.train``'s.
    """

    def __init__(
        self,
        num_actions: int,
        config: DQNConfig,
        *,
        q_network: nn.Module | None = None,
        device: str | torch.device | None = None,
        seed: int | None = None,
    ):
        if not isinstance(config, DQNConfig):
            raise TypeError(f"config must be a DQNConfig, got {type(config).__name__}")
        self.config = config
        self.num_actions = int(num_actions)
        agent = config.agent
        self.device = resolve_device(config.train.device) if device is None else torch.device(device)
        self.autocast_dtype = resolve_precision(config.train.precision, self.device)
        if q_network is None:
            q_network = NatureQNetwork(self.num_actions, dueling=agent.dueling)
        self.online = q_network.to(self.device).to(memory_format=torch.channels_last).train()
        self.target = copy.deepcopy(self.online).requires_grad_(False)
        self.optimizer = self._make_optimizer()
        self.updates = 0  # gradient updates taken
        self.sync_every = max(1, round(agent.target_update_every / agent.train_every))
        self.rng = np.random.default_rng(config.train.seed if seed is None else seed)

    def _make_optimizer(self) -> torch.optim.Optimizer:
        agent = self.config.agent
        parameters = list(self.online.parameters())
        if agent.optimizer == "adam":
            # fused: one kernel for every parameter (CPU since torch 2.4, CUDA)
            return torch.optim.Adam(parameters, lr=agent.learning_rate, eps=agent.adam_eps, fused=True)
        return torch.optim.RMSprop(parameters, lr=agent.learning_rate, alpha=agent.rmsprop_alpha,
                                   eps=agent.rmsprop_eps, centered=agent.rmsprop_centered, foreach=True)

    # -------------------------------------------------------------------------------- acting

    def _autocast(self, inference_batch: int | None = None) -> torch.autocast:
        enabled = self.autocast_dtype != torch.float32
        if enabled and inference_batch is not None and self.device.type == "cpu" \
                and inference_batch < CPU_AUTOCAST_MIN_INFERENCE_BATCH:
            enabled = False  # autocast casts every weight on every call: acting on one frame is faster in float32
        return torch.autocast(self.device.type, dtype=self.autocast_dtype, enabled=enabled)

    def _frames(self, frames: np.ndarray | torch.Tensor, name: str) -> torch.Tensor:
        if isinstance(frames, np.ndarray):
            if frames.dtype != np.uint8:
                raise DQNAgentError(f"{name} must be uint8 frames, got dtype {frames.dtype}")
            frames = torch.from_numpy(np.ascontiguousarray(frames))
        elif frames.dtype != torch.uint8:
            raise DQNAgentError(f"{name} must be uint8 frames, got dtype {frames.dtype}")
        if frames.dim() < 2 or frames.shape[0] < 1:
            raise DQNAgentError(f"{name} must be a batch [N, ...] with N >= 1, got shape {list(frames.shape)}")
        return frames.to(self.device, non_blocking=True)

    def q_values(self, obs: np.ndarray | torch.Tensor) -> np.ndarray:
        """Online Q-values float32[N, num_actions] of observations uint8[N, stack, H, W]."""
        frames = self._frames(obs, "obs")
        with torch.inference_mode(), self._autocast(frames.shape[0]):
            q = self.online(frames)
        return q.float().cpu().numpy()

    def greedy_actions(self, obs: np.ndarray | torch.Tensor) -> np.ndarray:
        """argmax_a Q_online(obs, a), int64[N] (the first of tied actions)."""
        frames = self._frames(obs, "obs")
        with torch.inference_mode(), self._autocast(frames.shape[0]):
            q = self.online(frames)
        return q.argmax(dim=1).cpu().numpy().astype(np.int64)

    def act(self, obs: np.ndarray | torch.Tensor, epsilon: float | np.ndarray,
            rng: np.random.Generator | None = None) -> np.ndarray:
        """Epsilon-greedy actions int64[N] for observations uint8[N, stack, H, W].

        Each environment explores with probability ``epsilon`` (a uniform action; one number for all, or
        float[N], one per environment), else acts greedily;
        the network runs only on the greedy rows (none while epsilon is 1). ``rng``: default the
        agent's own (seeded by ``train.seed``, saved with the agent's state); evaluation passes its own
        so that it does not shift the training stream.
        """
        rng = self.rng if rng is None else rng
        count = int(obs.shape[0])
        explore = rng.random(count) < epsilon  # both draws always made: the stream does not depend on Q
        actions = rng.integers(0, self.num_actions, size=count, dtype=np.int64)
        greedy = ~explore
        if greedy.all():
            actions[:] = self.greedy_actions(obs)
        elif greedy.any():
            rows = torch.from_numpy(greedy).to(obs.device) if isinstance(obs, torch.Tensor) else greedy
            actions[greedy] = self.greedy_actions(obs[rows])
        return actions

    # ------------------------------------------------------------------------------ learning

    def update(self, sample: ReplaySampleLike) -> dict[str, Any]:
        """One gradient step on ``sample``; returns ``loss`` (float), ``q_mean`` (mean Q(s, a) of the
        batch, float), ``td_errors`` float32[B] (``y - Q(s, a)``) and ``priorities`` float32[B]
        (``|td_errors|``, for ``replay.update_priorities(sample.indices, ...)``)."""
        agent = self.config.agent
        device = self.device
        obs = self._frames(sample.obs, "sample.obs")
        next_obs = self._frames(sample.next_obs, "sample.next_obs")
        actions = torch.as_tensor(np.asarray(sample.actions), device=device).long()
        returns = torch.as_tensor(np.asarray(sample.returns, dtype=np.float32), device=device)
        discounts = torch.as_tensor(np.asarray(sample.discounts, dtype=np.float32), device=device)
        batch = obs.shape[0]
        if not (next_obs.shape[0] == actions.shape[0] == returns.shape[0] == discounts.shape[0] == batch):
            raise DQNAgentError(
                f"sample fields disagree on the batch size: obs {batch}, next_obs {next_obs.shape[0]}, "
                f"actions {actions.shape[0]}, returns {returns.shape[0]}, discounts {discounts.shape[0]}"
            )

        with self._autocast():
            with torch.inference_mode():
                next_q = self.target(next_obs).float()  # [B, A]
                if agent.double:
                    next_actions = self.online(next_obs).argmax(dim=1, keepdim=True)  # [B, 1]
                    next_value = next_q.gather(1, next_actions).squeeze(1)
                else:
                    next_value = next_q.max(dim=1).values
                target = returns + discounts * next_value  # [B]
            target = target.clone()  # an ordinary tensor: autograd may save it
            q = self.online(obs).float()  # [B, A]
        q_taken = q.gather(1, actions.unsqueeze(1)).squeeze(1)  # [B]
        if agent.loss == "huber":
            per_sample = F.huber_loss(q_taken, target, reduction="none", delta=1.0)
        else:
            per_sample = F.mse_loss(q_taken, target, reduction="none")
        if agent.prioritized:
            weights = torch.as_tensor(np.asarray(sample.weights, dtype=np.float32), device=device)
            loss = (weights * per_sample).mean()
        else:
            loss = per_sample.mean()

        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if agent.max_grad_norm > 0:
            nn.utils.clip_grad_norm_(self.online.parameters(), agent.max_grad_norm, foreach=True)
        self.optimizer.step()
        self.updates += 1
        if self.updates % self.sync_every == 0:
            self.sync_target()

        td = (target - q_taken).detach()
        packed = torch.cat([loss.detach().view(1), q_taken.detach().mean().view(1), td]).cpu().numpy()
        td_errors = packed[2:].astype(np.float32, copy=False)
        return {"loss": float(packed[0]), "q_mean": float(packed[1]), "td_errors": td_errors,
                "priorities": np.abs(td_errors)}

    def sync_target(self) -> None:
        """Copy the online weights into the target network."""
        self.target.load_state_dict(self.online.state_dict())

    # -------------------------------------------------------------------------------- state

    def optimizer_state_keys(self) -> tuple[str, ...]:
        """The per-parameter tensors the optimizer keeps once it has stepped."""
        if self.config.agent.optimizer == "adam":
            return ("step", "exp_avg", "exp_avg_sq")
        return ("step", "square_avg", "grad_avg") if self.config.agent.rmsprop_centered else ("step", "square_avg")

    def state_tensors(self) -> dict[str, torch.Tensor]:
        """Everything to resume training, as named tensors: ``online.*``, ``target.*`` and
        ``optimizer.<parameter index>.<key>`` (empty until the first update)."""
        tensors = {f"online.{k}": v for k, v in self.online.state_dict().items()}
        tensors.update({f"target.{k}": v for k, v in self.target.state_dict().items()})
        for index, state in self.optimizer.state_dict()["state"].items():
            for key, value in state.items():
                tensors[f"optimizer.{index}.{key}"] = torch.as_tensor(value)
        return tensors

    def expected_state_tensors(self, with_optimizer: bool) -> dict[str, torch.Tensor]:
        """Tensors of the shapes ``state_tensors`` has (for checking a file before loading it)."""
        tensors = {f"online.{k}": v for k, v in self.online.state_dict().items()}
        tensors.update({f"target.{k}": v for k, v in self.target.state_dict().items()})
        if with_optimizer:
            for index, parameter in enumerate(self.online.parameters()):
                for key in self.optimizer_state_keys():
                    tensors[f"optimizer.{index}.{key}"] = torch.zeros(()) if key == "step" else parameter
        return tensors

    def state_record(self) -> dict[str, Any]:
        """The non-tensor state (JSON): update count, optimizer name, whether it has stepped, the RNG."""
        return {
            "updates": self.updates,
            "optimizer": self.config.agent.optimizer,
            "optimizer_state": bool(self.optimizer.state_dict()["state"]),
            "rng": self.rng.bit_generator.state,
        }

    def load_state(self, tensors: dict[str, torch.Tensor], record: dict[str, Any]) -> None:
        """Restore ``state_tensors()`` / ``state_record()`` (checked by ``tenuki.agents.dqn.checkpoint``)."""
        self.online.load_state_dict({k[7:]: v for k, v in tensors.items() if k.startswith("online.")})
        self.target.load_state_dict({k[7:]: v for k, v in tensors.items() if k.startswith("target.")})
        parameters = list(self.online.parameters())
        state: dict[int, dict[str, torch.Tensor]] = {}
        for name, value in tensors.items():
            if name.startswith("optimizer."):
                _, index, key = name.split(".", 2)
                parameter = parameters[int(index)]
                if value.shape == parameter.shape:  # the parameter's layout (channels-last): fused kernels
                    value = torch.empty_like(parameter).copy_(value)  # walk both in memory order
                state.setdefault(int(index), {})[key] = value
        param_groups = self.optimizer.state_dict()["param_groups"]  # hyper-parameters: the config's
        self.optimizer.load_state_dict({"state": state, "param_groups": param_groups})
        self.updates = int(record["updates"])
        self.rng.bit_generator.state = record["rng"]
