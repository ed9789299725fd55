"""The networks of Duan et al. 2021 (appendix A.1): encoder E, decoders D1/D2/D3, predictor T.

Interpretation notes (the tables leave these open; the chosen reading is the one that gives the
stated sizes):

* Input: one 128×128 mel per music phrase in the layout of ``SongFeatures.mel``
  ([mel band, time]). The encoder transposes it to an image of height = time so that the
  feature layer's ``AdaptiveAvgPool2d((None, 1))`` keeps time and gives the *temporal* feature
  f_t of 512×4 (from which D2/D3 decode the melody and rhythm curves over time). D1 returns
  its reconstruction in the same [mel band, time] layout as its target.
* Conv_6 "2048x1x1 / 1": f_t is stated to be 512×4×1, so Conv_6 is a 1×1 convolution *from* the
  2048 channels of Conv_5 *to* 512 (``embed_dim``) channels; read literally (2048 filters) it
  would contradict the stated f_t.
* Bottlenecks are ResNet50's (1×1, 3×3 with the stride, 1×1 expanding ×4, BN after each conv,
  projection shortcut when the shape changes); Conv_1 has no bias (BN follows).
* D1 padding: 0 for the first 4×4 stride-1 layer (1→4), 1 for every 4×4 stride-2 layer (×2) and
  for every 3×3 stride-1 layer (same size); no activation on the output (L1 loss on log-mel).
* D2/D3: ConvTranspose1d kernel 2 stride 2 doubles the length 4→8→…→128; D3 ends in a sigmoid
  (use :meth:`SequenceDecoder.logits` with ``BCEWithLogitsLoss`` for numerically safe training).
* Res-Att block (Fig. 6, after ResNet and SENet, global pooling removed):
  h = FC(512→1024) → ReLU → FC(1024→512); s = sigmoid(FC(16→512)(ReLU(FC(512→16)(h))));
  out = ReLU(x + h·s). T = Linear(512,512) → ReLU → 3 Res-Att → Linear(512, K) (logits;
  :meth:`Predictor.probabilities` applies the softmax of Eq. 5).
* Dance-side output layer (:class:`DanceHead`, our reading for real libraries): T's last
  layer ``Linear(512, K)`` holds one weight vector per library phrase, learnt only from the
  music that phrase was danced to — with ~1 example per phrase, and none at all for the
  phrases of a song held out by song, those rows stay at their random start. The dance head
  computes each phrase's row from the phrase itself instead: w_k = g(x_k), an MLP over the
  phrase's dance-side inputs x_k (style, meter, tempo and motion descriptors,
  :func:`retrieval.network_scoring.dance_inputs`), and the logit is the cosine of T's music
  vector with w_k times a learnt scale. Eq. 5's softmax and cross-entropy over the K phrases
  are unchanged; a phrase never trained on still gets a score from its descriptors.
  :class:`DanceMatchPredictor` is T with that head and a BatchNorm on u (the frozen
  encoder's embedding has no fixed scale). With the pair cues (:class:`PairCues`) the cosine
  term is multiplied by a learnt gate that starts at 0, so T's first logits are exactly the
  matcher's (the tie cues start at weight 0 too): training moves T away from the matcher
  only as far as the loss asks, and an epoch count chosen on held-out songs can keep the
  start (``training.selection``). Without the cues the gate starts at 1 (the head alone).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from choreo_studio.core.retrieval.presets import NetworkShape
from torch import nn

EXPANSION = 4


class Bottleneck(nn.Module):
    """ResNet50 bottleneck: 1×1 reduce, 3×3 (with the stride), 1×1 expand ×4, residual add."""

    def __init__(self, in_channels: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        out_channels = planes * EXPANSION
        self.conv1 = nn.Conv2d(in_channels, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + self.shortcut(x))


def _stage(in_channels: int, planes: int, n_blocks: int, stride: int) -> nn.Sequential:
    blocks = [Bottleneck(in_channels, planes, stride)]
    blocks += [Bottleneck(planes * EXPANSION, planes) for _ in range(n_blocks - 1)]
    return nn.Sequential(*blocks)


class Encoder(nn.Module):
    """E (Table 3): mel 128×128 → temporal feature f_t [B, C, 4] and embedding u [B, C]."""

    def __init__(self, shape: NetworkShape) -> None:
        super().__init__()
        w = shape.base_width
        self.conv1 = nn.Sequential(
            nn.Conv2d(1, w, 7, stride=2, padding=3, bias=False),
            nn.BatchNorm2d(w),
            nn.ReLU(inplace=True),
        )
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.conv2 = _stage(w, w, shape.blocks[0], 1)
        self.conv3 = _stage(w * EXPANSION, w * 2, shape.blocks[1], 2)
        self.conv4 = _stage(w * 2 * EXPANSION, w * 4, shape.blocks[2], 2)
        self.conv5 = _stage(w * 4 * EXPANSION, w * 8, shape.blocks[3], 2)
        self.conv6 = nn.Conv2d(w * 8 * EXPANSION, shape.embed_dim, 1)
        self.feature_pool = nn.AdaptiveAvgPool2d((None, 1))
        self.embedding_pool = nn.AdaptiveAvgPool2d((1, None))

    def forward(self, mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``mel`` [B, mel band, time] (``SongFeatures.mel``) → (f_t [B, C, 4], u [B, C])."""
        x = mel.transpose(-1, -2).unsqueeze(1)  # image of height = time, width = mel band
        x = self.maxpool(self.conv1(x))
        x = self.conv5(self.conv4(self.conv3(self.conv2(x))))
        x = self.conv6(x)
        f_t = self.feature_pool(x)  # [B, C, 4, 1]
        u = self.embedding_pool(f_t)  # [B, C, 1, 1]
        return f_t.flatten(2), u.flatten(1)


def _deconv2d(c_in: int, c_out: int, kernel: int, stride: int, padding: int) -> list[nn.Module]:
    return [
        nn.ConvTranspose2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    ]


class SpectrogramDecoder(nn.Module):
    """D1 (Table 4): u [B, C] → reconstructed mel [B, mel band, time] = [B, 128, 128]
    (8 ConvTranspose2d layers)."""

    def __init__(self, shape: NetworkShape) -> None:
        super().__init__()
        c = shape.embed_dim
        widths = [c, c, c // 2, c // 2, c // 4, c // 4, c // 8]
        layers: list[nn.Module] = []
        layers += _deconv2d(c, widths[0], 4, 1, 0)  # 1 → 4
        layers += _deconv2d(widths[0], widths[1], 4, 2, 1)  # 8
        layers += _deconv2d(widths[1], widths[2], 4, 2, 1)  # 16
        layers += _deconv2d(widths[2], widths[3], 4, 2, 1)  # 32
        layers += _deconv2d(widths[3], widths[4], 3, 1, 1)  # 32
        layers += _deconv2d(widths[4], widths[5], 4, 2, 1)  # 64
        layers += _deconv2d(widths[5], widths[6], 3, 1, 1)  # 64
        layers.append(nn.ConvTranspose2d(widths[6], 1, 4, stride=2, padding=1))  # 128
        self.layers = nn.Sequential(*layers)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        return self.layers(u[:, :, None, None]).squeeze(1).transpose(-1, -2)


class SequenceDecoder(nn.Module):
    """D2 / D3 (Table 5): f_t [B, C, 4] → a 128-long curve [B, 128] (melody, or rhythm with
    ``sigmoid=True``)."""

    def __init__(self, shape: NetworkShape, *, sigmoid: bool = False) -> None:
        super().__init__()
        c = shape.embed_dim
        widths = [c, c // 2, c // 4, c // 8, c // 16]
        layers: list[nn.Module] = []
        c_in = c
        for width in widths:  # 4 → 8 → 16 → 32 → 64 → 128
            layers += [nn.ConvTranspose1d(c_in, width, 2, stride=2), nn.ReLU(inplace=True)]
            c_in = width
        layers.append(nn.Conv1d(c_in, 1, 1))
        self.layers = nn.Sequential(*layers)
        self.sigmoid = sigmoid

    def logits(self, f_t: torch.Tensor) -> torch.Tensor:
        """The output before the final sigmoid, [B, 128]."""
        return self.layers(f_t).squeeze(1)

    def forward(self, f_t: torch.Tensor) -> torch.Tensor:
        out = self.logits(f_t)
        return torch.sigmoid(out) if self.sigmoid else out


class ResAttBlock(nn.Module):
    """Res-Att (Fig. 6): FC 512→1024→512 with an SE gate 512→16→512 on a residual path."""

    def __init__(self, dim: int, hidden: int, se_dim: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self.se_down = nn.Linear(dim, se_dim)
        self.se_up = nn.Linear(se_dim, dim)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.fc2(self.relu(self.fc1(x)))
        gate = torch.sigmoid(self.se_up(self.relu(self.se_down(h))))
        return self.relu(x + h * gate)


class Predictor(nn.Module):
    """T (Table 6): u [B, C] → logits over the K dance phrases of the library."""

    def __init__(self, shape: NetworkShape, n_dances: int) -> None:
        super().__init__()
        c = shape.embed_dim
        self.inp = nn.Sequential(nn.Linear(c, c), nn.ReLU(inplace=True))
        self.blocks = nn.Sequential(
            *[ResAttBlock(c, shape.predictor_hidden, shape.se_dim) for _ in range(shape.n_res_att)]
        )
        self.out = nn.Linear(c, n_dances)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        return self.out(self.blocks(self.inp(u)))

    def probabilities(self, u: torch.Tensor) -> torch.Tensor:
        """P(d | u): the softmax of the logits, [B, K]."""
        return torch.softmax(self.forward(u), dim=-1)


class DanceHead(nn.Module):
    """Logits over dance phrases from their inputs: s·cos(W h, g(x_k)) (module docstring).

    ``candidates`` (bool [K], or None for all) masks the phrases a training run may not use
    (a held-out song's dance): their logits are -1e4, so softmax and cross-entropy ignore them.
    """

    MASKED = -1.0e4
    MAX_SCALE = 100.0

    def __init__(self, in_dim: int, dance_inputs: torch.Tensor, embed_dim: int,
                 hidden: int, gate: float = 1.0) -> None:
        super().__init__()
        n_inputs = int(dance_inputs.shape[1])
        self.music = nn.Linear(in_dim, embed_dim)
        self.dance = nn.Sequential(nn.Linear(n_inputs, hidden), nn.ReLU(inplace=True),
                                   nn.Linear(hidden, embed_dim))
        self.log_scale = nn.Parameter(torch.tensor(math.log(10.0)))
        self.gate = nn.Parameter(torch.tensor(float(gate)))  # 0: start at the bonus alone
        self.register_buffer("dance_inputs", dance_inputs.float().clone())
        self.register_buffer("allowed", torch.ones(dance_inputs.shape[0], dtype=torch.bool))

    def restrict(self, candidates: torch.Tensor | None) -> None:
        """Only ``candidates`` (bool [K]) get a score; None opens every phrase again."""
        if candidates is None:
            self.allowed.fill_(True)
        else:
            self.allowed.copy_(torch.as_tensor(candidates, dtype=torch.bool))

    def forward(self, h: torch.Tensor, bonus: torch.Tensor | None = None) -> torch.Tensor:
        """Logits [B, K]; ``bonus`` [B, K] (the :class:`PairCues` term) is added before the
        mask."""
        music = F.normalize(self.music(h), dim=-1)
        dance = F.normalize(self.dance(self.dance_inputs), dim=-1)
        logits = self.gate * self.log_scale.exp().clamp(max=self.MAX_SCALE) * music @ dance.T
        if bonus is not None:
            logits = logits + bonus
        return logits.masked_fill(~self.allowed, self.MASKED)


MUSIC_CUES = ("tempo_bpm", "energy", "onsets_per_beat", "strength", "beats_per_bar", "beats",
              "index", "fraction")
"""Per music phrase, the columns :class:`PairCues` reads (the last of T's input vector): the
descriptor matcher's music descriptors, the phrase's length in beats, its index in its song
and that index as a fraction of the song's phrases."""
DANCE_CUES = ("tempo_bpm", "energy", "beats_per_count", "strength", "counts_per_bar", "counts",
              "song_bpm", "index", "fraction")
"""Per dance phrase: the matcher's dance descriptors, its counts, its count rate in its own
song's time (the take's time map) and its index / fraction inside its take."""
PAIR_CUES = ("tempo", "energy", "density", "strength", "meter", "tiling", "tempo_1pc",
             "tempo_3pc", "position", "same_index")
MATCHER_WEIGHTS = (1.0, 1.5, 0.3, 0.8, 0.3, 0.4)
"""The descriptor matcher's weights of its six distances (``scoring.DescriptorMatcher``:
``WEIGHTS``, density's /2, ``METER_COST``, ``TILING_COST``), T's starting point."""
MATCHER_TEMPERATURE = 0.15  # ``scoring.DescriptorMatcher.TEMPERATURE``
OCTAVES = torch.tensor([-1.0, 0.0, 1.0])
TIME_CHANGE_COST = 0.35  # ``library.tempo.TIME_CHANGE_COST_OCTAVES``


class PairCues(nn.Module):
    """Explicit cues per (music phrase, dance phrase) with learnt weights: a logit term.

    The first six are the descriptor matcher's distances (tempo ratio at the best of half,
    same or double time; energy; density; strength; meter; tiling), the weights start at the
    matcher's / its temperature, so T starts as the matcher and learns a residual on top. The
    others tie a song to the dance danced to it: the precise tempo match (bumps 1 % and 3 %
    wide, at the best octave) of the phrase's beats with the dance phrase's count rate in
    its own song, and the position — |fraction difference| and exp(−|index difference|).
    """

    def __init__(self, dance_cues: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("dance_cues", dance_cues.float().clone())
        start = [-w / MATCHER_TEMPERATURE for w in MATCHER_WEIGHTS] + [0.0] * 4
        self.weight = nn.Parameter(torch.tensor(start))

    def features(self, music: torch.Tensor) -> torch.Tensor:
        """[B, K, len(PAIR_CUES)] for music cues [B, len(MUSIC_CUES)]."""
        m, d = music.float()[:, None, :], self.dance_cues[None, :, :]
        ratio = torch.log2(m[..., 0].clamp(min=1) / d[..., 0].clamp(min=1))
        octave = (ratio[..., None] - OCTAVES.to(ratio)).abs()
        tempo = (octave + TIME_CHANGE_COST * (OCTAVES.to(ratio) != 0)).min(-1).values
        precise = (torch.log2(m[..., 0].clamp(min=1) / d[..., 6].clamp(min=1))[..., None]
                   - OCTAVES.to(ratio)).abs().min(-1).values
        density = (m[..., 2].clamp(max=2) - d[..., 2].clamp(max=2)).abs()
        meter = ((d[..., 4] > 0) & (d[..., 4] != m[..., 4])).float()
        tiling = (torch.remainder(m[..., 5], d[..., 5].clamp(min=1)) != 0).float()
        return torch.stack([
            tempo, (m[..., 1] - d[..., 1]).abs(), density, (m[..., 3] - d[..., 3]).abs(),
            meter, tiling, torch.exp(-(precise / 0.0144) ** 2),
            torch.exp(-(precise / 0.0427) ** 2), (m[..., 7] - d[..., 8]).abs(),
            torch.exp(-(m[..., 6] - d[..., 7]).abs())], dim=-1)

    def forward(self, music: torch.Tensor) -> torch.Tensor:
        return self.features(music) @ self.weight


def restrict_candidates(module: nn.Module, candidates: torch.Tensor | None) -> None:
    """Apply :meth:`DanceHead.restrict` to every dance head inside ``module`` (none: no-op)."""
    for sub in module.modules():
        if isinstance(sub, DanceHead):
            sub.restrict(candidates)


class DanceMatchPredictor(nn.Module):
    """T with the dance head: BN(u ⊕ m) → Linear → ReLU → Res-Att ×n → :class:`DanceHead`,
    where m are ``n_music`` music-side inputs read beside u (none: u alone). With
    ``dance_cues`` [K, len(DANCE_CUES)] the last ``len(MUSIC_CUES)`` of m are the music cues
    of :class:`PairCues`, whose term is added to the head's logits."""

    def __init__(self, shape: NetworkShape, dance_inputs: torch.Tensor, n_music: int = 0,
                 dance_cues: torch.Tensor | None = None) -> None:
        super().__init__()
        c = shape.embed_dim
        self.norm = nn.BatchNorm1d(c + n_music)
        self.inp = nn.Sequential(nn.Linear(c + n_music, c), nn.ReLU(inplace=True))
        self.blocks = nn.Sequential(
            *[ResAttBlock(c, shape.predictor_hidden, shape.se_dim) for _ in range(shape.n_res_att)]
        )
        self.out = DanceHead(c, dance_inputs, c, shape.predictor_hidden,
                             gate=1.0 if dance_cues is None else 0.0)
        self.cues = None if dance_cues is None else PairCues(dance_cues)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        h = self.blocks(self.inp(self.norm(u)))
        return self.out(h, None if self.cues is None else self.cues(u[:, -len(MUSIC_CUES):]))

    def probabilities(self, u: torch.Tensor) -> torch.Tensor:
        """P(d | u): the softmax of the logits, [B, K]."""
        return torch.softmax(self.forward(u), dim=-1)


@dataclass(frozen=True)
class DanceHeadSpec:
    """What a :class:`DanceMatchPredictor` T needs besides the preset: its input sizes (the
    phrase inputs and the pair cues are buffers, so a bundle's weights bring their values)."""

    n_inputs: int  # dance-side inputs per phrase (``network_scoring.dance_inputs``)
    n_music: int  # music-side inputs per phrase (``music_inputs.music_inputs``)
    pair_cues: bool  # the last len(MUSIC_CUES) music inputs feed PairCues

    def to_dict(self) -> dict[str, int | bool | str]:
        return {"kind": "dance", "n_inputs": self.n_inputs, "n_music": self.n_music,
                "pair_cues": self.pair_cues}


class RetrievalNetwork(nn.Module):
    """E + T, the part that runs at inference: mel → P(d | u); decoders only for pre-training.

    Parameter names (``encoder.*``, ``predictor.*``, ``d1.*``, ``d2.*``, ``d3.*``) are the keys
    of a model bundle's safetensors file. With ``head`` T is the dance-head predictor
    (placeholder buffers until the weights are loaded) and reads music-side inputs beside u.
    """

    def __init__(self, shape: NetworkShape, n_dances: int, *, with_decoders: bool = False,
                 head: DanceHeadSpec | None = None) -> None:
        super().__init__()
        self.shape = shape
        self.n_dances = n_dances
        self.head = head
        self.encoder = Encoder(shape)
        self.predictor: nn.Module = Predictor(shape, n_dances)
        if head is not None:
            cues = torch.zeros(n_dances, len(DANCE_CUES)) if head.pair_cues else None
            self.predictor = DanceMatchPredictor(shape, torch.zeros(n_dances, head.n_inputs),
                                                 head.n_music, cues)
        if with_decoders:
            self.d1 = SpectrogramDecoder(shape)
            self.d2 = SequenceDecoder(shape)
            self.d3 = SequenceDecoder(shape, sigmoid=True)

    def forward(self, mel: torch.Tensor, music: torch.Tensor | None = None) -> torch.Tensor:
        """Mel [B, mel band, time] (``SongFeatures.mel``), and the music-side inputs [B, M]
        of a dance-head T, → P(d | u) [B, K]."""
        _, u = self.encoder(mel)
        return self.predictor.probabilities(u if music is None else torch.cat([u, music], 1))
