"""Proven fixes (DESIGN principle 7): propose the smallest document changes for every blocking layer,
apply them to a copy of the snapshot, re-evaluate, and keep only change sets that make the call succeed.

``proposals`` says what each blocking layer needs, ``ways_out`` what to do when the encryption itself
cannot work, ``prove`` applies and re-evaluates; ``model`` holds the types.
"""

from diagnose.edits import replace_key, replace_principal, set_queue_attributes, with_statement
from diagnose.fix.model import TRADE_OFFS_CMK, TRADE_OFFS_SSE_SQS, Apply, Change, Fix, FixSet, apply_changes
from diagnose.fix.proposals import key_state_changes, sid
from diagnose.fix.prove import propose
from diagnose.fix.ways_out import NEW_KEY_ID, new_key_changes, sse_sqs_change

__all__ = [
    "NEW_KEY_ID",
    "TRADE_OFFS_CMK",
    "TRADE_OFFS_SSE_SQS",
    "Apply",
    "Change",
    "Fix",
    "FixSet",
    "apply_changes",
    "key_state_changes",
    "new_key_changes",
    "propose",
    "replace_key",
    "replace_principal",
    "set_queue_attributes",
    "sid",
    "sse_sqs_change",
    "with_statement",
]
