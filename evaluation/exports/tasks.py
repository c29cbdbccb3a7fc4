"""Celery tasks of the export jobs: thin wrappers over `jobs` that take ids."""

from celery import shared_task

from . import jobs


@shared_task(name=jobs.EXPORT_TASK, acks_late=True)
def run_export(job_id):
    """Build a job's file. acks_late: a worker lost midway gives the task back, and `jobs.run` starts the file
    again; a job already finished is left alone."""
    job = jobs.run(job_id)
    return {"job": job_id, "status": job.status if job else "déjà traité"}


@shared_task(name="evaluation.purge_exports", acks_late=True)
def purge_exports():
    """Daily (beat): the files of jobs past EXPORT_RETENTION_DAYS are deleted."""
    return {"purged": jobs.purge_expired()}
