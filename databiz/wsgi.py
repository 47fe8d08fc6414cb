"""WSGI entry point of the DataBiz jobs service."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "databiz.settings")

application = get_wsgi_application()
