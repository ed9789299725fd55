"""The decoders' names: a numpy-free module, so CLI parsers can offer them as choices without
importing the decoders (``choreo --help`` stays fast)."""

DECODERS = ("viterbi", "greedy")
"""viterbi: the best whole-song sequence; greedy: the paper's left-to-right rescale (Eq. 6)."""
