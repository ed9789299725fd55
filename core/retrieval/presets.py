"""Named network presets: ``paper`` (Duan et al. 2021, appendix A.1) and smaller networks of
the same structure that train and run on a CPU.

Plain data only (no torch) so the CLI can list presets without loading a network. A preset's
``to_dict`` is what a model bundle writes next to its weights. Training hyper-parameters are not
here: ``training.config`` is their one source, and a bundle records the config it was trained
with in its ``info``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from choreo_studio.core.errors import ChoreoError

RETIRED_NETWORK_KEYS = ("input_size", "f_t_length")
"""Network fields that bundles before this version wrote and nothing ever read (the sizes come
from the features); a preset's ``training`` block of those bundles is skipped the same way."""


@dataclass(frozen=True)
class NetworkShape:
    """Sizes of E, D1, D2/D3 and T. ``paper``: ResNet50 (3/4/6/3 bottlenecks, width 64), 512-d.

    ``base_width`` is the number of filters of Conv_1 and the planes of Conv_2 (each later stage
    doubles); bottlenecks expand their planes by 4 as in ResNet50. ``embed_dim`` is the channel
    count of f_t and the length of u. The decoders' widths scale with ``embed_dim`` (the paper's
    512 → 512/256/… for D1, 512/256/128/64/32 for D2/D3). T's Res-Att blocks use
    ``predictor_hidden`` (paper 1024) and an SE bottleneck of ``se_dim`` (paper 16).
    """

    base_width: int = 64
    blocks: tuple[int, int, int, int] = (3, 4, 6, 3)
    embed_dim: int = 512
    predictor_hidden: int = 1024
    se_dim: int = 16
    n_res_att: int = 3


@dataclass(frozen=True)
class Preset:
    """A named network shape."""

    name: str
    description: str
    network: NetworkShape = field(default_factory=NetworkShape)

    def to_dict(self) -> dict:
        """A JSON-ready description (written into bundles and run folders)."""
        d = asdict(self)
        d["network"]["blocks"] = list(self.network.blocks)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Preset:
        """Rebuild a preset written by :meth:`to_dict` (unknown keys are a ChoreoError; the
        fields earlier versions wrote but nothing read are skipped)."""
        try:
            network = {k: v for k, v in d["network"].items() if k not in RETIRED_NETWORK_KEYS}
            shape = NetworkShape(**{**network, "blocks": tuple(network["blocks"])})
            return cls(d["name"], d.get("description", ""), shape)
        except (KeyError, TypeError) as exc:
            raise ChoreoError(
                f"preset description is incomplete or from a newer version ({exc}) — "
                "use a bundle written by this version of Choreo Studio"
            ) from None


PRESETS: dict[str, Preset] = {
    "paper": Preset(
        "paper",
        "Duan et al. 2021 as published: ResNet50 encoder, 512-d embedding, f_t 512x4 (GPU)",
    ),
    "small": Preset(
        "small",
        "Same structure at half width, 2/2/2/2 bottlenecks, 256-d embedding (CPU training)",
        NetworkShape(base_width=32, blocks=(2, 2, 2, 2), embed_dim=256, predictor_hidden=512,
                     se_dim=16),
    ),
    "tiny": Preset(
        "tiny",
        "Same structure at quarter width, 1/1/1/1 bottlenecks, 128-d embedding (tests, laptops)",
        NetworkShape(base_width=16, blocks=(1, 1, 1, 1), embed_dim=128, predictor_hidden=256,
                     se_dim=8),
    ),
}


def get_preset(name: str) -> Preset:
    """The preset called ``name``; an unknown name is a one-line ChoreoError listing the choices."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ChoreoError(
            f"unknown preset {name!r} — choose one of: {', '.join(PRESETS)}"
        ) from None
