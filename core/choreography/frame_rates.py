"""Frame rates a dance renders and exports at: a numpy-free module, so CLI parsers can offer
them as choices without importing the renderer (``choreo --help`` stays fast)."""

SUPPORTED_FPS = (24.0, 25.0, 30.0, 50.0, 60.0)
