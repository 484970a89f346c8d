"""Remedies (DESIGN principle 7): what to change so that a call succeeds, proven by re-evaluation.

``model``: a change is plain data — a typed reference to what it edits (``diagnose.docref``) and an edit.
``apply``: the one interpreter, on a copy of the world. ``statements``: the one set of statement builders.
``needs``: the one classifier from a blocking layer to what it needs. ``build``: needs to changes.
``solve``: rounds of propose → apply → re-evaluate over a set of questions, ways out of an unusable key,
and ``propose`` for a why-denied verdict.
"""

from diagnose.remedy.model import Change, ChangeKind, ChangeSet, Remedy
from diagnose.remedy.needs import Scope
from diagnose.remedy.solve import NEW_KEY_ID, propose, prove, solve, ways_out
from diagnose.remedy.statements import Grantee

__all__ = [
    "NEW_KEY_ID",
    "Change",
    "ChangeKind",
    "ChangeSet",
    "Grantee",
    "Remedy",
    "Scope",
    "propose",
    "prove",
    "solve",
    "ways_out",
]
