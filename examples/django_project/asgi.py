"""ASGI entry for the example Django project (Django's own handler, detected as ASGI).

`--chdir examples --module django_project.asgi:application` or `--asgi django_project.asgi:application`.
"""
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_project.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

application = get_asgi_application()
