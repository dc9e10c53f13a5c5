"""Entry points for background processes; the job functions themselves live in grc.jobs."""
