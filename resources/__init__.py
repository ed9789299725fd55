"""What ships with Choreo Studio: demo song generator, demo library, bundled model, schemas.

Found at run time with ``importlib.resources`` (``files("choreo_studio.resources")``).
"""
