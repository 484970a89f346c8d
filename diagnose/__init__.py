"""sqsdiag: will this principal's call to this SQS queue succeed, and if not, why and what to change."""

__version__ = "0.1.0"
