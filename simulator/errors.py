"""Agora's errors: one base, ``AgoraError``, with four meanings, and their exit codes.

Every error Agora raises on purpose is an ``AgoraError`` of one meaning:

* ``NotFound``: a run, sweep, plot or file that does not exist (HTTP 404).
* ``InvalidInput``: input that breaks a rule, reported as one line naming
  ``file:line:column``, the field and what is allowed (HTTP 422, exit status 2).
* ``Stopped``: a run ended early with a status (``cancelled``,
  ``budget_exhausted``, ``degraded``...) and a reason; its results so far are
  kept (HTTP 409).
* ``LimitExceeded``: a ``Stopped`` whose status is ``limit_exceeded`` (a
  per-run cap on time, events or memory).

The faces translate meanings, never individual classes: ``api/errors.py``
maps them to HTTP statuses once, and ``exit_code`` below maps them to the
CLI's exit statuses once. Module classes (``ScenarioError``, ``RunNotFound``,
``LLMError``...) subclass one meaning and keep their names. The meanings also
subclass the matching built-in (``InvalidInput`` is a ``ValueError``,
``NotFound`` a ``LookupError``) so code catching those still works.

This module imports nothing from Agora, so ``agents/``, ``api/`` and every
``simulator`` module can import it without cycles. ``mechanisms/`` stays free of
simulator imports: its errors remain plain ``ValueError`` subclasses, which
the faces treat as invalid input where a user's file caused them.
"""

from __future__ import annotations

# Exit statuses of the ``agora`` command (README, "Using it").
EXIT_OK = 0
EXIT_FAULT = 1      # an unexpected fault; or a run that ended early (failed, cancelled, stopped by a limit)
EXIT_INVALID = 2    # bad input: a bad option, file, field or value; not found
EXIT_DEGRADED = 3   # the run finished but degraded (e.g. LLM fallbacks over the failure policy's threshold)


class AgoraError(Exception):
    """Base of every error Agora raises on purpose (see the module docstring for the meanings)."""


class NotFound(AgoraError, LookupError):
    """Something named by the user does not exist (a run, a sweep, a plot, a file)."""

    def __str__(self) -> str:  # not KeyError's repr-quoting: the message as given
        return str(self.args[0]) if self.args else "not found"


class InvalidInput(AgoraError, ValueError):
    """Input that breaks a rule; the message names where, the field and what is allowed."""


class Stopped(AgoraError):
    """A run ended early with ``status`` (e.g. ``budget_exhausted``, ``cancelled``) and ``reason``.

    Raised inside a run (by a policy, e.g. the LLM budget) it ends the run at
    once; returned by a run's ``should_stop`` check it ends the run after the
    current event. Either way the run's metrics and events so far are kept.
    """

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason

    def __reduce__(self):  # picklable with both arguments (runs cross process boundaries)
        return (type(self), (self.status, self.reason))


class LimitExceeded(Stopped):
    """A run passed one of its limits (wall time, events, memory): status ``limit_exceeded``."""

    def __init__(self, reason: str, status: str = "limit_exceeded") -> None:
        super().__init__(status, reason)

    def __reduce__(self):
        return (type(self), (self.reason, self.status))


def exit_code(error: BaseException | None = None, status: str | None = None) -> int:
    """The ``agora`` exit status for an error, or for a run that ended with ``status``.

    Invalid input and not-found are 2; a run that ended ``degraded`` is 3, any
    other early end (failed, cancelled, limit_exceeded, budget_exhausted...) 1;
    an unexpected fault is 1; success is 0.
    """
    if error is not None:
        if isinstance(error, (InvalidInput, NotFound)):
            return EXIT_INVALID
        if isinstance(error, Stopped):
            return exit_code(status=error.status)
        return EXIT_FAULT
    if status is None or status == "finished":
        return EXIT_OK
    return EXIT_DEGRADED if status == "degraded" else EXIT_FAULT
