"""The error the caller would see: code and message as boto3 and the AWS CLI print them (X2-X6, K8)."""

from __future__ import annotations

from dataclasses import dataclass

from diagnose.authz import (
    Blocking,
    StepResult,
)
from diagnose.authz.model import Layer

KMS_SUFFIX = "(Service: AWSKMS; Status Code: 400; Error Code: {code}; Request ID: <request-id>; Proxy: null)"

# X5: the policy type named in "because no <type> policy allows" / "with an explicit deny in a <type> policy".
_TYPE_NAMES = {
    Layer.IDENTITY: "identity-based",
    Layer.RESOURCE: "resource-based",
    Layer.KEY_POLICY: "resource-based",
    Layer.BOUNDARY: "permissions boundary",
    Layer.SESSION: "session",
    Layer.SCP: "service control",
    Layer.RCP: "resource control",  # wording UNVERIFIED (X5)
    Layer.VPCE: "VPC endpoint",
}


@dataclass(frozen=True)
class CallerError:
    code: str
    message: str
    http_status: int
    operation: str  # the API the caller called, e.g. "ReceiveMessage"
    uncertain: tuple[str, ...] = ()
    kms_suffix: str | None = None  # SQS often appends KMS's Java-SDK suffix (X6); optional

    @property
    def cli(self) -> str:
        return f"An error occurred ({self.code}) when calling the {self.operation} operation: {self.message}"


def _reason(block: Blocking, action: str) -> str:
    kind = _TYPE_NAMES.get(block.layer, block.layer)
    # AWS says "permissions boundary", not "permissions boundary policy" (row 8); every other type is "X policy".
    noun = kind if block.layer == Layer.BOUNDARY else f"{kind} policy"
    if block.explicit or block.layer == Layer.SCP:  # X5: an SCP denial may read "explicit" even when implicit
        article = "an" if noun[0] in "aeiou" else "a"
        return f"with an explicit deny in {article} {noun}"
    return f"because no {noun} allows the {action} action"


def sqs_access_denied(step: StepResult, caller_arn: str, operation: str, legacy: bool, queue_url: str) -> CallerError:
    """X4: the current format names the caller, the lower-case action and the first blocking stage."""
    if legacy:
        return CallerError("AccessDenied", f"Access to the resource {queue_url} is denied.", 403, operation)
    action = step.step.lower()
    block = step.blocking[0]
    message = f"User: {caller_arn} is not authorized to perform: {action} on resource: {step.resource} " + _reason(
        block, action
    )
    uncertain = ("the Layer.RCP wording is UNVERIFIED (X5)",) if block.layer == Layer.RCP else ()
    return CallerError("AccessDenied", message, 403, operation, uncertain)


def kms_access_denied(step: StepResult, caller_arn: str, operation: str, legacy: bool) -> CallerError:
    """X6: the KMS text SQS passes through under KMS.AccessDeniedException."""
    kms_action = step.step  # e.g. "kms:Decrypt"
    uncertain: list[str] = []
    if kms_action == "kms:Decrypt":
        if legacy:
            message = (
                "The ciphertext refers to a customer master key that does not exist, does not exist in this region, "
                "or you are not allowed to access."
            )
        else:
            message = (
                f"User: {caller_arn} is not authorized to perform: kms:Decrypt on the resource associated with this "
                "ciphertext because the resource does not exist in this Region, no resource-based policies allow "
                "access, or a resource-based policy explicitly denies access"
            )
    else:
        block = step.blocking[0]
        message = f"User: {caller_arn} is not authorized to perform: {kms_action} on resource: {step.resource} " + (
            _reason(block, kms_action)
        )
        uncertain.append("the exact KMS message form through SQS is UNVERIFIED (X6)")
    return CallerError(
        "KMS.AccessDeniedException",
        message,
        400,
        operation,
        tuple(uncertain),
        KMS_SUFFIX.format(code="AccessDeniedException"),
    )


def key_state_error(state: str, key_arn: str, operation: str, pending_deletion_code: str) -> CallerError:
    """K8 via X2: SQS re-wraps KMS's state errors as 400 with the KMS. prefix."""
    if state == "Disabled":
        return CallerError(
            "KMS.DisabledException",
            f"{key_arn} is disabled.",
            400,
            operation,
            ("pass-through of the KMS text is UNVERIFIED (X6)",),
            KMS_SUFFIX.format(code="DisabledException"),
        )
    if state == "PendingDeletion":
        return CallerError(
            pending_deletion_code,
            f"{key_arn} is pending deletion.",
            400,
            operation,
            ("KMS.InvalidStateException vs KMS.DisabledException for pending deletion is UNVERIFIED (K8)",),
            KMS_SUFFIX.format(code="KMSInvalidStateException"),
        )
    words = {"PendingImport": "pending import", "Unavailable": "unavailable"}.get(state, f"in state {state}")
    return CallerError(
        "KMS.InvalidStateException",
        f"{key_arn} is {words}.",
        400,
        operation,
        (),
        KMS_SUFFIX.format(code="KMSInvalidStateException"),
    )


def key_not_found(key_ref: str, operation: str) -> CallerError:
    return CallerError(
        "KMS.NotFoundException",
        f"Key '{key_ref}' does not exist",
        400,
        operation,
        ("whether SetQueueAttributes would have rejected the key first is UNVERIFIED (K11)",),
        KMS_SUFFIX.format(code="NotFoundException"),
    )


def key_usage_error(key_arn: str, spec: str | None, usage: str | None, operation: str) -> CallerError:
    return CallerError(
        "KMS.InvalidKeyUsageException",
        f"{key_arn} is not a symmetric encryption key (KeySpec {spec}, KeyUsage {usage}).",
        400,
        operation,
        ("the message text is UNVERIFIED; the code is per K10/X2",),
        KMS_SUFFIX.format(code="InvalidKeyUsageException"),
    )


def invalid_security(operation: str) -> CallerError:
    return CallerError(
        "InvalidSecurity",
        "The request was not made over HTTPS or did not use SigV4 for signing.",
        403,
        operation,
    )
