"""The one-command demo (`fluxgate demo`, `make demo`): the example app's code and manifests
repositories in the emulated GitHub, the story of two releases told through the real stack, a live
board of stage runs and clusters, and GitHub's view at the end."""

from fluxgate.sandbox.demo.board import Board
from fluxgate.sandbox.demo.github_view import github_summary
from fluxgate.sandbox.demo.project import seed
from fluxgate.sandbox.demo.scenario import DemoFailed, Ending, Story, play

__all__ = ["Board", "DemoFailed", "Ending", "Story", "github_summary", "play", "seed"]
