"""The dashboard page; its data comes from /api/v2/jobs/active like the frontend's."""
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse

from jobs import conf


@login_required
def dashboard(request):
    """Render the jobs widget for the signed-in user."""
    return render(request, "dashboard/index.html", {
        "poll_interval": getattr(settings, "DASHBOARD_POLL_INTERVAL", 10),
        "jobs_url": reverse("jobs:active"),
        "stream_url": reverse("jobs:stream"),
        # After a refused stream the page polls, and tries the stream again after this, then less and less often.
        "stream_retry": conf.stream_retry().total_seconds(),
    })
