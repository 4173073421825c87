"""``import voiceprep``: the public surface of the `pipeline` package, under the project's name."""

from pipeline import *  # noqa: F403
from pipeline import __all__, __getattr__, __version__  # noqa: F401
