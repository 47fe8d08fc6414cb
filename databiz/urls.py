"""URLs of the DataBiz jobs service."""
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from databiz.metrics import metrics
from databiz.probes import healthz, readyz
from jobs.views import TokenObtainView, TokenRefreshThrottledView

# JSON for every error, a database outage as a 503 (databiz/errors.py).
handler400 = "databiz.errors.bad_request"
handler404 = "databiz.errors.not_found"
handler500 = "databiz.errors.server_error"

urlpatterns = [
    path("api/v2/jobs/", include("jobs.urls")),
    path("api/v2/auth/token", TokenObtainView.as_view(), name="token_obtain_pair"),
    path("api/v2/auth/token/refresh", TokenRefreshThrottledView.as_view(), name="token_refresh"),
    path("api/v2/schema", SpectacularAPIView.as_view(), name="schema"),
    # An HTML page: no OPTIONS description (DRF would render it with the page's template, which has none for it).
    path("api/v2/docs", SpectacularSwaggerView.as_view(url_name="schema", metadata_class=None), name="docs"),
    path("admin/", admin.site.urls),
    path("", include("databiz.dashboard.urls")),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
]
