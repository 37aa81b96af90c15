from django.urls import path

from digest import email_pages
from digest.views import feedback

app_name = "digest"

urlpatterns = [
    path("feedback/<str:token>/", feedback, name="feedback"),
    path("digest/<str:token>/", email_pages.web_view, name="web-view"),
    path("staff/preview/", email_pages.staff_preview, name="staff-preview"),
]
