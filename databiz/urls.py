"""URLs of the DataBiz jobs service."""
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from jobs.views import healthz, metrics, readyz

urlpatterns = [
    path("api/v2/jobs/", include("jobs.urls")),
    path("api/v2/auth/token", TokenObtainPairView.as_view(), name="token_obtain_pair"),
    path("api/v2/auth/token/refresh", TokenRefreshView.as_view(), name="token_refresh"),
    path("api/v2/schema", SpectacularAPIView.as_view(), name="schema"),
    path("api/v2/docs", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
]
