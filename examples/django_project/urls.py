from django.urls import path

from . import views

urlpatterns = [
    path("", views.index),
    path("json", views.json_view),
    path("form", views.form),
    path("items/<int:item_id>", views.item),
]
