"""System checks of the jobs app: the datasets table it reads, and its settings."""
from django.core import checks
from django.db import DatabaseError, router

from . import conf
from .models import Dataset, JobStatus
from .reference_schema import datasets_table_problems


@checks.register()
def check_datasets_table(app_configs=None, **kwargs):
    """Warn, by name, when the datasets table or one of its expected columns is missing or cannot be read."""
    using = router.db_for_read(Dataset)
    try:
        problems = datasets_table_problems(using)
    except DatabaseError as exc:
        problems = [f"The database {using!r} cannot be reached ({exc.__class__.__name__})."]
    # A warning, not an error: `migrate` runs the checks too, before a demo database has its table.
    return [
        checks.Warning(problem, hint="The jobs endpoint answers 503 until this is fixed.", id="jobs.W001")
        for problem in problems
    ]


@checks.register()
def check_jobs_settings(app_configs=None, **kwargs):
    """Report JOBS_* settings the rules cannot work with."""
    errors = []
    unknown = sorted(set(conf.status_map().values()) - set(JobStatus.values))
    if unknown:
        errors.append(checks.Error(
            f"JOBS_STATUS_MAP maps to unknown job statuses: {', '.join(unknown)}.",
            hint=f"Job statuses are {', '.join(JobStatus.values)}.", id="jobs.E001",
        ))
    for name, value in (("JOBS_RETENTION", conf.retention()), ("JOBS_STALL_AFTER", conf.stall_after())):
        if value.total_seconds() <= 0:
            errors.append(checks.Error(f"{name} must be a positive duration.", id="jobs.E002"))
    if conf.max_results() < 1:
        errors.append(checks.Error("JOBS_MAX_RESULTS must be at least 1.", id="jobs.E003"))
    return errors
