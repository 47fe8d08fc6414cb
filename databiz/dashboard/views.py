"""The dashboard page; its data comes from the jobs API through the frontend's own client, like the frontend's."""
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import get_script_prefix

from jobs.conf import jobs_settings


@login_required
def dashboard(request):
    """Render the jobs widget for the signed-in user."""
    return render(request, "dashboard/index.html", {
        "poll_interval": getattr(settings, "DASHBOARD_POLL_INTERVAL", 10),
        # The client (@databiz/jobs-client) finds /api/v2/jobs/... under the prefix the service is mounted at.
        "api_base": get_script_prefix().rstrip("/"),
        # After a refused stream the page polls, and tries the stream again after this, then less and less often.
        "stream_retry": jobs_settings.JOBS_STREAM_RETRY.total_seconds(),
    })
