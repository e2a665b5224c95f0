"""topcop's own pages inside the Airflow UI: completeness, receipts, approvals, Data Docs, history.

``plugin`` registers them with Airflow (entry point ``airflow.plugins`` in
pyproject.toml), ``pages`` serves them (FastAPI, behind Airflow's login), and
``views`` reads what they show from the warehouse and the landing store, as
plain functions testable without a server. Pages only read: the one write a
steward makes, an approval, goes through Airflow's human-in-the-loop task.
"""
