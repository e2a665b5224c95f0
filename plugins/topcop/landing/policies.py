"""Least privilege for the landing buckets, written down as S3 bucket policies.

Each focal point may put files into its own bucket's ``inbox/``, list and get
its own ``receipts/`` and ``templates/``, and nothing else; the pipeline's role
does the moving. The policies in ``docker/s3-policies/`` are generated from
the reporting units here (``topcop policies``), so adding a unit is data only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from topcop import config
from topcop.landing.s3 import bucket_pattern

ACCOUNT = "${AWS_ACCOUNT_ID}"  # filled in at deployment; no account id in the repository
FOCAL_POINT_READS = ("receipts/", "templates/")


def focal_point_arn(unit: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:user/topcop-focal-point-{unit.lower()}"


def pipeline_arn() -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/topcop-pipeline"


def bucket_policy(unit: str) -> dict[str, Any]:
    """The bucket policy of ``unit``'s landing bucket."""
    bucket = bucket_pattern().format(unit=unit).lower()
    arn = f"arn:aws:s3:::{bucket}"
    focal_point = {"AWS": focal_point_arn(unit)}
    reads = [f"{arn}/{prefix}*" for prefix in FOCAL_POINT_READS]
    return {
        "Version": "2012-10-17",
        "Id": f"topcop-landing-{unit.lower()}",
        "Statement": [
            {
                "Sid": "FocalPointDropsReturns",
                "Effect": "Allow",
                "Principal": focal_point,
                "Action": "s3:PutObject",
                "Resource": f"{arn}/inbox/*",
            },
            {
                "Sid": "FocalPointReadsReceiptsAndTemplates",
                "Effect": "Allow",
                "Principal": focal_point,
                "Action": "s3:GetObject",
                "Resource": reads,
            },
            {
                "Sid": "FocalPointListsReceiptsAndTemplates",
                "Effect": "Allow",
                "Principal": focal_point,
                "Action": "s3:ListBucket",
                "Resource": arn,
                "Condition": {"StringLike": {"s3:prefix": [f"{p}*" for p in FOCAL_POINT_READS]}},
            },
            {
                "Sid": "FocalPointNothingElse",
                "Effect": "Deny",
                "Principal": focal_point,
                "NotAction": ["s3:PutObject", "s3:GetObject", "s3:ListBucket"],
                "Resource": [arn, f"{arn}/*"],
            },
            {
                "Sid": "FocalPointWritesOnlyInbox",
                "Effect": "Deny",
                "Principal": focal_point,
                "Action": "s3:PutObject",
                "NotResource": f"{arn}/inbox/*",
            },
            {
                "Sid": "FocalPointReadsOnlyReceiptsAndTemplates",
                "Effect": "Deny",
                "Principal": focal_point,
                "Action": "s3:GetObject",
                "NotResource": reads,
            },
            {
                "Sid": "PipelineProcessesReturns",
                "Effect": "Allow",
                "Principal": {"AWS": pipeline_arn()},
                "Action": [
                    "s3:ListBucket",
                    "s3:GetObject",
                    "s3:PutObject",
                    "s3:DeleteObject",
                ],
                "Resource": [arn, f"{arn}/*"],
            },
            {
                "Sid": "TlsOnly",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [arn, f"{arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    }


def write_policies(directory: Path) -> list[Path]:
    """Write one policy file per reporting unit (active or not: a suspended unit's bucket stays locked)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for unit in sorted(config.codelists().reporting_units):
        path = directory / f"{unit.lower()}.json"
        path.write_text(json.dumps(bucket_policy(unit), indent=2) + "\n", encoding="utf-8")
        paths.append(path)
    return paths
