"""URLs of the jobs API, mounted at /api/v2/jobs/."""
from django.urls import path

from .stream import JobStreamView
from .views import ActiveJobListView, JobHistoryListView

app_name = "jobs"

urlpatterns = [
    # The frontend polls the path without a slash; both forms answer, neither redirects.
    path("active", ActiveJobListView.as_view(), name="active"),
    path("active/", ActiveJobListView.as_view()),
    path("stream", JobStreamView.as_view(), name="stream"),
    path("history", JobHistoryListView.as_view(), name="history"),
    path("history/", JobHistoryListView.as_view()),
]
