"""URLs of the DataBiz jobs service."""
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from jobs.views import TokenObtainView, TokenRefreshThrottledView, healthz, metrics, readyz

# JSON for every error, a database outage as a 503 (jobs/exceptions.py).
handler404 = "jobs.exceptions.not_found"
handler500 = "jobs.exceptions.server_error"

urlpatterns = [
    path("api/v2/jobs/", include("jobs.urls")),
    path("api/v2/auth/token", TokenObtainView.as_view(), name="token_obtain_pair"),
    path("api/v2/auth/token/refresh", TokenRefreshThrottledView.as_view(), name="token_refresh"),
    path("api/v2/schema", SpectacularAPIView.as_view(), name="schema"),
    path("api/v2/docs", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("admin/", admin.site.urls),
    path("", include("databiz.dashboard.urls")),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
]
