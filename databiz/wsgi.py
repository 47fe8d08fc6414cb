"""WSGI entry point of the DataBiz jobs service."""
import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "databiz.settings")

application = get_wsgi_application()

# What start-up made (Django, the apps, the URL map: ~100,000 objects) lives as long as the process: moved out of the
# garbage collector's reach, so that a full collection scans only what requests made since instead of pausing every
# request in flight for tens of milliseconds (docs/performance.md, "The tail").
gc.freeze()
