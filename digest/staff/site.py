"""Paperboy's admin site: Django's, with the staff dashboard and its forms added to its URLs,
so every page sits behind the admin's own staff check and login page."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.urls import URLPattern, URLResolver, path


class PaperboyAdminSite(admin.AdminSite):
    site_header = "Paperboy staff"
    site_title = "Paperboy staff"
    index_title = "Editions, deliveries and subscribers"
    index_template = "admin/paperboy/index.html"

    def get_urls(self) -> list[URLPattern | URLResolver]:
        from digest.staff import views as staff_views  # the views import the models, which need the app registry

        return [
            path("dashboard/", self.admin_view(staff_views.dashboard), name="dashboard"),
            path("dashboard/progress.json", self.admin_view(staff_views.run_progress), name="dashboard-progress"),
            path("dashboard/ingest/", self.admin_view(staff_views.ingest_now), name="ingest-now"),
            path("dashboard/test-digest/", self.admin_view(staff_views.test_digest), name="test-digest"),
            *super().get_urls(),
        ]


class PaperboyAdminConfig(AdminConfig):
    default_site = "digest.staff.site.PaperboyAdminSite"
