// The Django scenario's project, built in a temporary directory with Debian's
// python3-django: one model on SQLite (migrated, 20 rows seeded) and a view that
// renders a template from a small query. Every server runs the same wsgi.py.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const FILES = {
  'benchsite/__init__.py': '',
  'benchsite/settings.py': `import os
BASE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECRET_KEY = "nuwsgi-bench-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "benchsite.urls"
INSTALLED_APPS = ["shop"]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.path.join(BASE_DIR, "db.sqlite3")}}
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True
`,
  'benchsite/urls.py': `from django.urls import path
from shop.views import items
urlpatterns = [path("", items)]
`,
  'shop/__init__.py': '',
  'shop/models.py': `from django.db import models
class Item(models.Model):
    name = models.CharField(max_length=100)
    price = models.DecimalField(max_digits=8, decimal_places=2)
    in_stock = models.BooleanField(default=True)
`,
  'shop/views.py': `from django.shortcuts import render
from shop.models import Item
def items(request):
    rows = Item.objects.filter(in_stock=True).order_by("name")[:10]
    return render(request, "shop/items.html", {"items": rows, "title": "Items"})
`,
  'shop/templates/shop/items.html': `<!doctype html>
<html><head><title>{{ title }}</title></head>
<body><h1>{{ title }}</h1>
<table>{% for item in items %}<tr class="{% cycle 'odd' 'even' %}"><td>{{ item.id }}</td><td>{{ item.name|title }}</td><td>{{ item.price|floatformat:2 }}</td></tr>
{% empty %}<tr><td>none</td></tr>{% endfor %}</table>
<p>{{ items|length }} items</p></body></html>
`,
  'wsgi.py': `import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchsite.settings")
from django.core.wsgi import get_wsgi_application
application = get_wsgi_application()
`,
  'seed.py': `import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchsite.settings")
import django
django.setup()
from shop.models import Item
Item.objects.all().delete()
Item.objects.bulk_create([Item(name="item %d" % i, price=i * 1.25, in_stock=i % 4 != 0) for i in range(1, 21)])
print(Item.objects.count())
`,
};

/** Builds, migrates and seeds the project; returns { dir, file, module, cleanup }. */
export function buildDjangoSite(python = '/usr/bin/python3') {
  const dir = mkdtempSync(join(tmpdir(), 'nuwsgi-bench-django-'));
  for (const [name, text] of Object.entries(FILES)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  const env = { ...process.env, DJANGO_SETTINGS_MODULE: 'benchsite.settings', PYTHONPATH: dir };
  for (const args of [['-m', 'django', 'makemigrations', 'shop', '-v', '0'], ['-m', 'django', 'migrate', '-v', '0'], ['seed.py']]) {
    const r = spawnSync(python, args, { cwd: dir, env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`django project: ${python} ${args.join(' ')} failed:\n${r.stdout}${r.stderr}`);
  }
  return { dir, file: join(dir, 'wsgi.py'), module: 'wsgi:application', cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
