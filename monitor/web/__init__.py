"""The workbench (``telmon web``): reviewers listen and decide, supervisors follow a call's journey,
the compliance officer takes the report; accounts, roles and an audit trail of who saw what."""
