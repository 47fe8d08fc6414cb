"""URLs of the dashboard and its login."""
from django.contrib.auth import views as auth_views
from django.urls import path

from .views import dashboard

urlpatterns = [
    path("", dashboard, name="dashboard"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
]
