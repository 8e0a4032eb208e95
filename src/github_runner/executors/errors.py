"""The executors' one exception, in a module of its own: the image builder
(`executors/images.py`) runs on the system python before the project's dependencies are
installed (CI set-up), so what it imports must be standard library only."""

from __future__ import annotations


class ExecutorError(Exception):
    """The job cannot be run on this executor (missing dependency, refused setting...).

    The message names the setting and what to install or change. The job is reported failed;
    it is never silently run on a weaker executor.
    """
