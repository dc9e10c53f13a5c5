"""Background jobs on RQ (J1-J6): the queue (``queue``), the functions it runs (``job_functions``), the daily sweeps
(``daily_sweeps``), the schedule, the jobs a commit starts (``commit_triggers``) and sweeps run on request
(``sweep_runs``). Jobs call services; none touches a Flask request."""
