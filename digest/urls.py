from django.urls import path

from digest.reader import data, feed, feedback, web_view
from digest.staff import preview

app_name = "digest"

urlpatterns = [
    path("feedback/<str:token>/", feedback.feedback, name="feedback"),
    path("digest/<str:token>/", web_view.web_view, name="web-view"),
    path("manage/<str:token>/data.json", data.data, name="data"),
    path("feed/<str:token>/", feed.feed, name="feed"),
    path("staff/preview/", preview.staff_preview, name="staff-preview"),
]
