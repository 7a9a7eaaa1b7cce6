"""WSGI entry for the example Django project.

Works both as `--wsgi-file examples/django_project/wsgi.py` (from anywhere)
and as `--chdir examples --module django_project.wsgi:application`.
"""
import os
import sys

# --wsgi-file loads this file by path, so make its package importable.
_examples_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _examples_dir not in sys.path:
    sys.path.insert(0, _examples_dir)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_project.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
