"""The documented key policy of the AWS managed key ``alias/aws/sqs`` (reference S10).

Principle 2: this key is modelled with its real policy and the general KMS rules decide; nothing
special-cases it. Used when a snapshot marks a key as AWS-managed but its policy could not be read.
"""

from __future__ import annotations

from typing import Any

AWS_SQS_ALIAS = "alias/aws/sqs"


def is_aws_managed(manager: str | None, aliases: tuple[str, ...]) -> bool:
    """An AWS managed key: so recorded, or named by an ``alias/aws/`` alias, a prefix only AWS can use (S10).
    Its key policy cannot be changed, whatever a hand-written snapshot says of its manager."""
    return manager == "AWS" or any(a.startswith("alias/aws/") for a in aliases)


def aws_sqs_key_policy(account: str, region: str, partition: str = "aws") -> dict[str, Any]:
    """The ``auto-sqs-1`` policy: any principal of ``account`` through SQS in ``region`` (S10)."""
    return {
        "Version": "2012-10-17",
        "Id": "auto-sqs-1",
        "Statement": [
            {
                "Sid": "Allow access through Simple Queue Service (SQS) for all principals in the account that "
                "are authorized to use SQS",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": [
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:CreateGrant",
                    "kms:DescribeKey",
                ],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "kms:CallerAccount": account,
                        "kms:ViaService": f"sqs.{region}.amazonaws.com",
                    }
                },
            },
            {
                "Sid": "Allow direct access to key metadata to the account",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
                "Action": ["kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant"],
                "Resource": "*",
            },
        ],
    }
