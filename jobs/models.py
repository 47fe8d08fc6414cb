"""The `datasets` table of the imports service, read as background jobs."""
import datetime
import functools
import uuid
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import Case, Count, F, OuterRef, Q, Subquery, Sum, Value, When, Window
from django.db.models.functions import Coalesce, Greatest, NullIf, RowNumber
from django.utils import timezone

from . import conf, progress
from .aggregates import Median, Seconds
from .compiled import NOW, USER, Parameter, ParameterUser, compiled, compiled_for_clients, run_joined, shifted
from .conf import jobs_settings
from .import_speed import JobIterable, learned_import_speed, share_import_speed


class JobStatus(models.TextChoices):
    """The frontend's `BackgroundJob.status` union."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class JobType(models.TextChoices):
    """The frontend's `BackgroundJob.type` union."""

    IMPORT = "import"
    EXPORT = "export"
    VALIDATION = "validation"
    PROCESSING = "processing"


# Uploads are synchronous, so no worker reports progress: without an estimate, a fixed value per job status.
FIXED_PROGRESS = {JobStatus.RUNNING: 50, JobStatus.COMPLETED: 100, JobStatus.FAILED: 0}
GENERIC_ERROR = "Import failed."
# The columns the job fields and rules are made of; `file_type` and `created_by` are not shown.
JOB_COLUMNS = ("id", "name", "original_filename", "file_size", "status", "error_message", "created_at", "updated_at")
ERROR_MAX_LENGTH = 500


class ReadOnlyTableError(RuntimeError):
    """Raised on any attempt to write to `datasets`, which belongs to the imports service."""

    def __init__(self, action):
        super().__init__(
            f"Refusing to {action}: the datasets table belongs to the imports service "
            "and the jobs service only reads it."
        )


def dataset_statuses(job_status):
    """Return the dataset statuses that the status map turns into `job_status`."""
    return [dataset_status for dataset_status, mapped in conf.status_map().items() if mapped == job_status]


def job_type_expression():
    """Return the SQL expression of a dataset's job type: every dataset is an import today."""
    return Value(JobType.IMPORT.value, output_field=models.CharField())


def job_order():
    """Return the job order: running jobs first (newest first), then finished ones, most recently finished first."""
    return [
        Case(When(job_status=JobStatus.RUNNING, then=0), default=1),
        F("finished_at").desc(nulls_last=True),
        F("created_at").desc(),
        F("pk").asc(),
    ]


def moment_expression(now):
    """Return `now` as an SQL expression: a datetime as a value, the compiled page's NOW parameter as it is."""
    return now if hasattr(now, "resolve_expression") else Value(now, output_field=models.DateTimeField())


# The job statuses of a finished job, which the history holds.
FINISHED_JOB_STATUSES = (JobStatus.COMPLETED.value, JobStatus.FAILED.value)


# The history's order, newest first: by the moment of the dataset's last update (ties by id), which the index
# (created_by, updated_at DESC) gives in order. For a completed or failed job that is the moment it finished; a
# stalled import, reported finished JOBS_STALL_AFTER after its last update, sorts by that update.
HISTORY_ORDER = ("-updated_at", "-id")
# The same order walked back, oldest first: the order of a cursor that goes to the previous page.
REVERSED_HISTORY_ORDER = tuple(field[1:] if field.startswith("-") else f"-{field}" for field in HISTORY_ORDER)


class HistoryPosition(NamedTuple):
    """Where a job stands in HISTORY_ORDER, as a cursor holds it: both fields of the order, so that no two jobs share
    one. Jobs updated at the same moment (one statement of the imports service changing many rows) are told apart by
    their ids, never by an offset that a job joining them between two pages would shift."""

    updated_at: datetime.datetime
    dataset_id: uuid.UUID

    @classmethod
    def of(cls, job):
        """Return the position of `job`."""
        return cls(job.updated_at, job.pk)

    def __str__(self):
        """Return the position as a cursor's text carries it (DRF encodes the text): the moment, then the id."""
        return f"{self.updated_at.isoformat()} {self.dataset_id}"


def retention_start(now):
    """Return the moment a finished job must have finished at or after to be listed at `now` (JOBS_RETENTION)."""
    return now - jobs_settings.JOBS_RETENTION


def stalled_q(*, now):
    """Match running imports that have had no update for `JOBS_STALL_AFTER` at `now`."""
    return Q(status__in=dataset_statuses(JobStatus.RUNNING), updated_at__lte=now - jobs_settings.JOBS_STALL_AFTER)


class DatasetQuerySet(models.QuerySet):
    """Datasets, and the rules that turn them into background jobs."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._iterable_class = JobIterable

    def owned_by(self, user):
        """Keep the datasets uploaded by `user`."""
        return self.filter(created_by=user.pk)

    def with_job_fields(self, *, now=None):
        """Annotate `job_status`, `job_stalled`, `job_type`, `finished_at` and `job_elapsed` as they are at `now`."""
        now = now or timezone.now()
        stalled = stalled_q(now=now)
        status_whens = [When(stalled, then=Value(JobStatus.FAILED.value))] + [
            When(status__in=statuses, then=Value(job_status))
            for job_status in JobStatus.values
            if (statuses := dataset_statuses(job_status))
        ]
        finished = [status for job_status in FINISHED_JOB_STATUSES for status in dataset_statuses(job_status)]
        return self.annotate(
            job_status=Case(*status_whens, default=None, output_field=models.CharField()),
            job_stalled=Case(When(stalled, then=True), default=False, output_field=models.BooleanField()),
            job_type=job_type_expression(),
            # A job never finishes before it started, even when clocks of the imports service's servers disagree.
            finished_at=Case(
                When(stalled, then=Greatest(F("updated_at") + jobs_settings.JOBS_STALL_AFTER, F("created_at"))),
                When(status__in=finished, then=Greatest(F("updated_at"), F("created_at"))),
                default=None,
                output_field=models.DateTimeField(),
            ),
        ).annotate(
            job_elapsed=models.ExpressionWrapper(
                Coalesce(F("finished_at"), moment_expression(now)) - F("created_at"),
                output_field=models.DurationField(),
            ),
        )

    def listed(self, *, now=None):
        """Keep the datasets that are jobs to show at `now`: running, or finished within `JOBS_RETENTION`."""
        now = now or timezone.now()
        # Every listed row was updated after this moment: a plain range on the
        # (created_by, updated_at) index that spares the database a user's whole history.
        window_start = now - jobs_settings.JOBS_STALL_AFTER - jobs_settings.JOBS_RETENTION
        return self.with_job_fields(now=now).filter(
            Q(updated_at__gte=window_start),
            Q(job_status=JobStatus.RUNNING) | Q(finished_at__gte=retention_start(now)),
        )

    def finished(self, *, now=None):
        """Keep the jobs finished at `now`: completed and failed ones, the stalled imports among them."""
        return self.with_job_fields(now=now).with_job_status(*FINISHED_JOB_STATUSES)

    def history(self, *, now=None):
        """Return the job history at `now`: every finished job, newest first (HISTORY_ORDER)."""
        return self.finished(now=now).order_by(*HISTORY_ORDER)

    def history_for(self, user, *, now=None):
        """Return `user`'s job history at `now`: every finished job, newest first (HISTORY_ORDER)."""
        return self.owned_by(user).history(now=now)

    def past(self, position, *, back=False):
        """Keep the jobs after `position` (a HistoryPosition) in HISTORY_ORDER, newest first, or before it (`back`: a
        cursor walking back to the previous page). The bound on `updated_at` alone starts the index (created_by,
        updated_at DESC) at the position; the id then tells apart the jobs updated at that same moment."""
        updated_at, dataset_id = position
        # Written as a range and an exception, not as "earlier, or as early with a smaller id": PostgreSQL estimates
        # the OR as a few rows and reads the user's whole history with a bitmap scan (30 ms for a page, not 0.5).
        if back:
            return self.filter(updated_at__gte=updated_at).exclude(updated_at=updated_at, id__lte=dataset_id)
        return self.filter(updated_at__lte=updated_at).exclude(updated_at=updated_at, id__gte=dataset_id)

    def finished_after(self, moment):
        """Keep the finished jobs that finished at or after `moment`. A job finishes at most JOBS_STALL_AFTER after
        its last update (a stalled import), so the rows updated before that are left out by the index alone."""
        return self.filter(updated_at__gte=shifted(moment, -jobs_settings.JOBS_STALL_AFTER), finished_at__gte=moment)

    def finished_before(self, moment):
        """Keep the finished jobs that finished before `moment` (none finishes before its last update)."""
        return self.filter(updated_at__lt=moment, finished_at__lt=moment)

    def filename_contains(self, text):
        """Keep the jobs whose filename (`Dataset.filename`: the uploaded file's name, else the dataset's) contains
        `text`, in any case; `%` and `_` are plain characters."""
        shown = Coalesce(NullIf("original_filename", Value("")), "name")
        return self.alias(shown_filename=shown).filter(shown_filename__icontains=text)

    def updated_since(self, moment):
        """Keep the datasets changed at or after `moment`: the imports service sets `updated_at` as it writes a row."""
        return self.filter(updated_at__gte=moment)

    def with_job_status(self, *job_statuses):
        """Keep the jobs whose job status is one of `job_statuses`."""
        return self.filter(job_status__in=job_statuses)

    def with_job_type(self, *job_types):
        """Keep the jobs whose type is one of `job_types`."""
        return self.filter(job_type__in=job_types)

    def in_job_order(self):
        """Order running jobs first (newest first), then finished jobs, most recently finished first."""
        return self.order_by(*job_order())

    def with_list_totals(self, *, per_owner=False):
        """Annotate every row with `listed_total` and `running_total`: the counts before the bound cuts the list
        (each owner's own with `per_owner`)."""
        partition = [F("created_by")] if per_owner else None
        return self.annotate(
            listed_total=Window(Count("pk"), partition_by=partition),
            running_total=Window(Sum(Case(When(job_status=JobStatus.RUNNING, then=1), default=0)),
                                 partition_by=partition),
        )

    def bounded_per_owner(self):
        """Cut each owner's list to `JOBS_MAX_RESULTS` items in job order, as `bounded()` cuts one owner's."""
        return self.annotate(
            owner_rank=Window(RowNumber(), partition_by=[F("created_by")], order_by=job_order())
        ).filter(owner_rank__lte=jobs_settings.JOBS_MAX_RESULTS)

    def jobs_for_owners(self, user_ids, *, now=None, job_statuses=(), job_types=()):
        """Return the pages of every user of `user_ids` in one query: each as `jobs_page_for` answers it (narrowed by
        job status and type, if given), by owner."""
        queryset = self.filter(created_by__in=user_ids).jobs(now=now)
        if job_statuses:
            queryset = queryset.with_job_status(*job_statuses)
        if job_types:
            queryset = queryset.with_job_type(*job_types)
        return queryset.only_job_columns(owner=True).with_list_totals(per_owner=True).bounded_per_owner()

    def only_job_columns(self, *, owner=False):
        """Read only the columns a job's fields are made of (and `created_by`, with `owner`)."""
        return self.only(*JOB_COLUMNS, *(["created_by"] if owner else []))

    def with_owner_username(self):
        """Annotate `owner_username`, the owner's username (None for an unknown user), in the same query."""
        # `created_by` is a plain uuid (the table belongs to another service): a subquery, not a join on a foreign key.
        users = get_user_model()._default_manager.filter(pk=OuterRef("created_by")).values("username")[:1]
        return self.annotate(owner_username=Subquery(users, output_field=models.CharField()))

    def stalled(self):
        """Keep the running imports that stalled (reported as failed)."""
        return self.filter(job_stalled=True)

    def count_by_job_status(self):
        """Return {job status: number of jobs} over this queryset, every job status present (0 when none)."""
        counts = dict.fromkeys(JobStatus.values, 0)
        rows = self.order_by().values("job_status").annotate(count=Count("pk")).values_list("job_status", "count")
        counts.update(rows)
        return counts

    def bounded(self):
        """Cut the list to `JOBS_MAX_RESULTS` items; call it last, on an ordered queryset."""
        return self[: jobs_settings.JOBS_MAX_RESULTS]

    def jobs(self, *, now=None):
        """Return the jobs of all users as the rules list them at `now`, in job order."""
        return self.listed(now=now).in_job_order()

    def jobs_for(self, user, *, now=None):
        """Return `user`'s jobs as the rules list them at `now`, in job order (unbounded)."""
        return self.owned_by(user).jobs(now=now)

    def import_history(self, *, now=None):
        """Keep the completed imports with a file size updated within `JOBS_PROGRESS_HISTORY` before `now`."""
        now = now or timezone.now()
        return self.filter(
            status__in=dataset_statuses(JobStatus.COMPLETED),
            updated_at__gte=now - jobs_settings.JOBS_PROGRESS_HISTORY,
            updated_at__gt=F("created_at"),
            file_size__gte=0,
        )

    def import_speed(self, *, now=None):
        """Learn how fast imports run from the import history, in one query; None with too little history."""
        history = self.import_history(now=now).order_by()
        seconds = Seconds(F("updated_at") - F("created_at"))
        # The split between the smaller and the larger half: the median size, as a subquery of the same query.
        split = Subquery(history.annotate(group=Value(1)).values("group").values(median=Median("file_size")))
        small, large = Q(file_size__lte=split), Q(file_size__gt=split)
        medians = history.aggregate(
            sample=Count("pk"),
            small_size=Median("file_size", filter=small),
            small_seconds=Median(seconds, filter=small),
            large_size=Median("file_size", filter=large),
            large_seconds=Median(seconds, filter=large),
            size=Median("file_size"),
            seconds=Median(seconds),
        )
        if medians["sample"] < max(jobs_settings.JOBS_PROGRESS_MIN_SAMPLE, 1):
            return None
        return progress.ImportSpeed.from_medians(**medians)

    def update(self, **kwargs):
        raise ReadOnlyTableError("update datasets")

    def delete(self):
        raise ReadOnlyTableError("delete datasets")

    def bulk_create(self, *args, **kwargs):
        raise ReadOnlyTableError("insert datasets")

    def bulk_update(self, *args, **kwargs):
        raise ReadOnlyTableError("update datasets")

    def create(self, **kwargs):
        raise ReadOnlyTableError("insert a dataset")

    def get_or_create(self, *args, **kwargs):
        raise ReadOnlyTableError("insert a dataset")

    def update_or_create(self, *args, **kwargs):
        raise ReadOnlyTableError("update a dataset")


class CompiledPageQuerySet(DatasetQuerySet):
    """A page an endpoint answers, narrowed like any DatasetQuerySet and run as compiled SQL (jobs/compiled.py).

    Building and compiling the job rules' QuerySet (their `Case` expressions) on every request costs milliseconds, so
    a page records how it is narrowed, through the named methods of its class, and runs the SQL its `build` function
    compiles once per shape from the same DatasetQuerySet methods, with the values of this request bound to it.
    Anything that would run other SQL raises.
    """

    def __init__(self, *args, page=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.page = page or {}

    def _clone(self):
        clone = super()._clone()
        clone.page = dict(self.page)
        return clone

    # What the refusal of other SQL names: the page, how to narrow it, and the QuerySet of one's own.
    described_as = narrowed_with = own_queryset = ""

    def _chain(self):
        raise TypeError(
            f"A page of {self.described_as} runs compiled SQL: narrow it with {self.narrowed_with}, or use "
            f"Dataset.objects.{self.own_queryset}() for a QuerySet of your own."
        )

    def _refuse(self, *args, **kwargs):
        self._chain()

    # Each would run SQL over the whole table rather than the page.
    aggregate = explain = iterator = update = delete = _refuse

    def _narrowed(self, **changes):
        clone = self._clone()
        clone.page.update(changes)
        return clone

    def _run(self, sql, values=None, *, planned_for_values=False):
        """Return the jobs that the compiled `sql` answers the page's user at the page's moment, with the import speed
        they share. A user whose row is still to be checked (jobs/authentication.py) is checked in the same
        statement."""
        user, now = self.page["user"], self.page["now"] or timezone.now()
        if hasattr(user, "confirm"):
            users, jobs = run_joined(user.check_query(), sql, user.pk, now, values,
                                     planned_for_values=planned_for_values)
            user.confirm(users)
        else:
            jobs = sql.run(user.pk, now, values, planned_for_values=planned_for_values)
        return list(share_import_speed(jobs, self.db))

    def all(self):
        """Return a copy of this page (django-filter starts from one)."""
        return self._clone()

    def with_job_status(self, *job_statuses):
        """Keep the jobs whose job status is one of `job_statuses`."""
        return self._narrowed(job_statuses=tuple(sorted(set(job_statuses))))

    def with_job_type(self, *job_types):
        """Keep the jobs whose type is one of `job_types`."""
        return self._narrowed(job_types=tuple(sorted(set(job_types))))

    def count(self):
        """Return the number of jobs on the page."""
        return len(self)

    def exists(self):
        """Tell whether the page holds any job."""
        return bool(self)

    def __repr__(self):
        return f"<{type(self).__name__} {self.page!r}>"


class JobPageQuerySet(CompiledPageQuerySet):
    """One user's page of jobs as `/api/v2/jobs/active` answers it: bounded, with list totals (`jobs_page_queryset`)."""

    described_as, narrowed_with, own_queryset = "jobs", "with_job_status() or with_job_type()", "jobs_for"

    def _fetch_all(self):
        if self._result_cache is None:
            key = (self.db, self.page["job_statuses"], self.page["job_types"], conf.rules_key())
            self._result_cache = self._run(compiled(jobs_page_queryset, *key))


class HistoryPageQuerySet(CompiledPageQuerySet):
    """One user's page of the job history as `/api/v2/jobs/history` answers it (`history_page_queryset`): narrowed
    by its filters, and cut by DRF's cursor pagination, which orders it, filters it from the cursor's position and
    slices it."""

    described_as, own_queryset = "the job history", "history_for"
    narrowed_with = "the history's filters (with_job_status(), finished_after(), ...)"

    def finished_after(self, moment):
        """Keep the finished jobs that finished at or after `moment` (`DatasetQuerySet.finished_after`)."""
        return self._narrowed(values={**self.page["values"], "finished_after": moment})

    def finished_before(self, moment):
        """Keep the finished jobs that finished before `moment` (`DatasetQuerySet.finished_before`)."""
        return self._narrowed(values={**self.page["values"], "finished_before": moment})

    def filename_contains(self, text):
        """Keep the jobs whose filename contains `text` (`DatasetQuerySet.filename_contains`)."""
        return self._narrowed(values={**self.page["values"], "filename_contains": text})

    def order_by(self, *ordering):
        """Order the page: HISTORY_ORDER, or its reverse for a cursor that walks back."""
        if tuple(ordering) not in (HISTORY_ORDER, REVERSED_HISTORY_ORDER):
            self._chain()
        return self._narrowed(ordering=tuple(ordering))

    def filter(self, *args, **kwargs):
        """Keep the jobs past a cursor's HistoryPosition (`past`), as DRF's CursorPagination asks: `updated_at__lt`,
        or `updated_at__gt` for a cursor walking back; once, before the page is sliced."""
        if args or len(kwargs) != 1 or not set(kwargs) <= set(POSITION_LOOKUPS) or self._positioned_or_sliced():
            self._chain()
        ((lookup, position),) = kwargs.items()
        if not isinstance(position, HistoryPosition):
            self._chain()
        return self._narrowed(position=(lookup, position))

    def __getitem__(self, k):
        if self._result_cache is None and isinstance(k, slice) and k.step is None:
            if self.page["limits"] != (0, None):
                self._chain()
            return self._narrowed(limits=(k.start or 0, k.stop))
        return super().__getitem__(k)

    def _positioned_or_sliced(self):
        return self.page["position"][0] is not None or self.page["limits"] != (0, None)

    def _fetch_all(self):
        if self._result_cache is None:
            page, (position_lookup, position) = self.page, self.page["position"]
            key = (self.db, page["job_statuses"], page["job_types"], tuple(sorted(page["values"])), page["ordering"],
                   position_lookup, page["limits"], conf.rules_key())
            values = dict(page["values"])
            if position is not None:
                values.update({POSITION.name: position.updated_at, POSITION_ID.name: position.dataset_id})
            # Planned for its values: a history's plan depends on how long it is (`fetch_checked`).
            sql = compiled_for_clients(history_page_queryset, *key)
            self._result_cache = self._run(sql, values, planned_for_values=True)


class DatasetManager(models.Manager.from_queryset(DatasetQuerySet)):
    """Datasets with their job fields computed for the moment the queryset is made."""

    def get_queryset(self):
        return super().get_queryset().with_job_fields()

    def history_for(self, user, *, now=None):
        """Return `user`'s job history at `now` (`DatasetQuerySet.history_for`), its job fields annotated once: on
        the plain queryset, not on this manager's, which annotates them already (4 ms of SQL building a page)."""
        return super().get_queryset().history_for(user, now=now)

    def jobs_page_for(self, user, *, now=None):
        """Return `user`'s page of jobs as the endpoint answers it: bounded, with list totals, compiled SQL."""
        page = {"user": user, "now": now, "job_statuses": (), "job_types": ()}
        return JobPageQuerySet(model=self.model, using=self._db, page=page)

    def history_page_for(self, user, *, now=None):
        """Return `user`'s job history at `now` as the endpoint pages it: compiled SQL, each page one query."""
        page = {"user": user, "now": now, "job_statuses": (), "job_types": (), "values": {}, "ordering": HISTORY_ORDER,
                "position": (None, None), "limits": (0, None)}
        return HistoryPageQuerySet(model=self.model, using=self._db, page=page)


def jobs_for_owners_queryset(using, owners, job_statuses, job_types, rules_key):
    """Return the QuerySet of the pages of `owners` users (`jobs_for_owners`) with NOW and a parameter for each user
    (USER, then "owner_1" ...), to be compiled once per count of users and filter shape: the stream's read."""
    users = [USER, *(Parameter(f"owner_{number}", models.UUIDField()) for number in range(1, owners))]
    return Dataset.objects.using(using).jobs_for_owners(users, now=NOW, job_statuses=job_statuses, job_types=job_types)


def jobs_page_queryset(using, job_statuses, job_types, rules_key):
    """Return the QuerySet of a page of jobs with the USER and NOW parameters, to be compiled once per shape."""
    queryset = Dataset.objects.using(using).jobs_for(ParameterUser, now=NOW)
    if job_statuses:
        queryset = queryset.with_job_status(*job_statuses)
    if job_types:
        queryset = queryset.with_job_type(*job_types)
    return queryset.only_job_columns().with_list_totals().bounded()


# The values a history page is narrowed by, bound each time its compiled SQL runs.
HISTORY_PAGE_PARAMETERS = {
    "finished_after": Parameter("finished_after", models.DateTimeField()),
    "finished_before": Parameter("finished_before", models.DateTimeField()),
    "filename_contains": Parameter("filename_contains", models.CharField()),
}
# A cursor's position (HistoryPosition): the job a page starts after (DRF's CursorPagination, by HISTORY_ORDER), and
# the lookups DRF filters with: after it, or before it for a cursor walking back.
POSITION = Parameter("position", models.DateTimeField())
POSITION_ID = Parameter("position_id", models.UUIDField())
POSITION_LOOKUPS = ("updated_at__lt", "updated_at__gt")


def history_page_queryset(using, job_statuses, job_types, narrowed_by, ordering, position_lookup, limits, rules_key):
    """Return the QuerySet of a history page with the USER, NOW and the narrowing values' parameters, to be compiled
    once per shape."""
    queryset = Dataset.objects.db_manager(using).history_for(ParameterUser, now=NOW)
    if job_statuses:
        queryset = queryset.with_job_status(*job_statuses)
    if job_types:
        queryset = queryset.with_job_type(*job_types)
    for name in narrowed_by:
        queryset = getattr(queryset, name)(HISTORY_PAGE_PARAMETERS[name])
    if position_lookup:
        queryset = queryset.past(HistoryPosition(POSITION, POSITION_ID), back=position_lookup == "updated_at__gt")
    low, high = limits
    return queryset.order_by(*ordering).only_job_columns()[low:high]


class Dataset(models.Model):
    """An uploaded file in the imports service's `datasets` table, seen as a background job."""

    id = models.UUIDField(primary_key=True)
    name = models.CharField(max_length=255)
    original_filename = models.CharField(max_length=512, null=True, blank=True)
    file_type = models.CharField(max_length=32, null=True, blank=True)
    file_size = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=20)
    error_message = models.TextField(null=True, blank=True)
    created_by = models.UUIDField(db_index=False)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    objects = DatasetManager()

    class Meta:
        managed = False
        db_table = "datasets"
        default_permissions = ("view",)

    def __str__(self):
        return f"{self.filename} ({self.status})"

    def __repr__(self):
        return f"<Dataset {self.pk} {self.filename!r} status={self.status!r}>"

    def save(self, *args, **kwargs):
        raise ReadOnlyTableError("save a dataset")

    def delete(self, *args, **kwargs):
        raise ReadOnlyTableError("delete a dataset")

    @property
    def filename(self):
        """The uploaded file's name, or the dataset's name when the file's is unknown."""
        return self.original_filename or self.name

    @property
    def started_at(self):
        """When the upload started."""
        return self.created_at

    @property
    def import_speed(self):
        """The learned import speed this dataset's estimates use; None when progress is fixed or unknown."""
        if not conf.estimates_progress():
            return None
        if "_import_speed" not in self.__dict__:
            self._import_speed = functools.cache(functools.partial(learned_import_speed, self._state.db or "default"))
        return self._import_speed()

    @property
    def progress(self):
        """How far the job is, 0-100 (a failed one: where it stopped); None when the dataset is not a job."""
        fixed = FIXED_PROGRESS.get(self.job_status)
        if fixed is None or self.job_status == JobStatus.COMPLETED or self.file_size is None:
            return fixed
        estimate = progress.progress_percent(self.file_size, self.job_elapsed.total_seconds(), self.import_speed)
        return fixed if estimate is None else estimate

    @property
    def remaining_seconds(self):
        """Estimated whole seconds until a running job is done; None when not running or not estimated."""
        if self.job_status != JobStatus.RUNNING or self.file_size is None:
            return None
        return progress.remaining_seconds(self.file_size, self.job_elapsed.total_seconds(), self.import_speed)

    @property
    def error(self):
        """What went wrong, for users: None unless the job failed; never a traceback."""
        if self.job_status != JobStatus.FAILED:
            return None
        if self.job_stalled:
            return f"Import stalled: no update since {self.updated_at.astimezone(datetime.UTC):%Y-%m-%dT%H:%M:%SZ}."
        return user_error_message(self.error_message)


def user_error_message(message):
    """Return the part of an import's error message that is meant for users, at most 500 characters."""
    # The imports service stores messages for users, but a crash may have appended a traceback.
    text = (message or "").split("Traceback (most recent call last)")[0].strip()
    if not text:
        return GENERIC_ERROR
    if len(text) > ERROR_MAX_LENGTH:
        return text[: ERROR_MAX_LENGTH - 1] + "…"
    return text


# The index the imports team may add on `datasets` so that a history search (`filename_contains`, `?q=`) reads the
# rows whose filename matches instead of every row of the caller: a trigram index (pg_trgm) on the very expression
# the search compares. `manage.py jobs_search_index_sql` prints it; this service never installs it.
FILENAME_INDEX_SQL = """-- Run by the imports team on the database of `datasets` (the jobs service never installs it).
-- A history search (?q=) then reads the rows whose filename matches, not the caller's whole history.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON datasets USING gin (({expression}) gin_trgm_ops);
"""
FILENAME_INDEX_NAME = "datasets_filename_trgm"


def filename_index_sql(connection):
    """Return FILENAME_INDEX_SQL on the expression `filename_contains` compares, as Django writes it for
    `connection` (PostgreSQL): an index serves a query only on the same expression, so it is taken from the query."""
    query = DatasetQuerySet(model=Dataset, using=connection.alias).filename_contains("").query
    (lookup,) = query.where.children
    sql, params = lookup.process_lhs(query.get_compiler(connection=connection), connection)
    return FILENAME_INDEX_SQL.format(name=FILENAME_INDEX_NAME, expression=connection.ops.compose_sql(sql, params))
