"""Ask a data steward to approve or refuse a correction to a closed period; then load or refuse it.

One run per held file, started by the ingest run (run id `approval__<unit>__<content hash>`,
conf `{"request_id": ...}`). The first task shows what would change against the current
revision and the validation findings; `steward_decision` waits, holding no worker slot,
until a steward answers Approve or Refuse with a reason: in the UI (Required actions)
or by `PATCH /api/v2/dags/topcop_approval/dagRuns/{run_id}/taskInstances/steward_decision/-1/hitlDetails`.
There is no timeout and no default answer: an unanswered request waits, the file stays
in the unit's `held/` area, and the daily `topcop_deadlines` run reminds the stewards.
Approved: loaded as the next revision, with who approved, when and why. Refused:
quarantined with the reason. The focal point gets a receipt either way.
"""

from __future__ import annotations

from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import Param, dag, task

from topcop.orchestration import DEFAULT_ARGS, START_DATE

APPROVE, REFUSE = "Approve", "Refuse"  # topcop.approval.APPROVE / REFUSE


@dag(
    dag_id="topcop_approval",
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    # Triggered by topcop_ingest only: paused, its runs would wait unseen.
    is_paused_upon_creation=False,
    default_args=DEFAULT_ARGS,
    params={"request_id": Param("", type="string", description="approval_request.request_id")},
    tags=["topcop", "steward"],
    doc_md=__doc__,
)
def topcop_approval():
    @task
    def describe_request(params: dict) -> dict:
        """What the steward decides on: unit, period, file, changes and findings (skips if decided)."""
        from airflow.sdk.exceptions import AirflowSkipException

        from topcop.approval import PENDING, migrated_engine, request

        req = request(migrated_engine(), params["request_id"])
        if req.status != PENDING:
            raise AirflowSkipException(f"already {req.status} by {req.decided_by}")
        return {"subject": req.subject, "body": req.summary}

    described = describe_request()
    steward_decision = HITLOperator(
        task_id="steward_decision",
        subject="{{ ti.xcom_pull(task_ids='describe_request')['subject'] }}",
        body="{{ ti.xcom_pull(task_ids='describe_request')['body'] }}",
        options=[APPROVE, REFUSE],
        params={
            "reason": Param(
                "",
                type="string",
                title="Reason",
                description="Why you approve or refuse; the focal point reads it in the receipt.",
            )
        },
        doc_md="A steward approves or refuses the held correction; no timeout, no default.",
    )

    @task
    def apply_decision(params: dict, answer: dict) -> dict:
        """Load the approved file as the next revision, or quarantine the refused one; receipts."""
        from topcop.approval import apply_decision as apply

        return apply(params["request_id"], answer)

    described >> steward_decision
    apply_decision(answer=steward_decision.output)


topcop_approval()
