"""ASGI entry point of the DataBiz jobs service."""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "databiz.settings")

application = get_asgi_application()
