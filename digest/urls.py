from django.urls import path

from subscriptions.views import link_not_built

app_name = "digest"

urlpatterns = [
    # Routed now so emails can link to them; issues 4 (feedback) and 5 (web view) build the pages.
    path("feedback/<str:token>/", link_not_built, name="feedback"),
    path("digest/<str:token>/", link_not_built, name="web-view"),
    # Issue 5 builds the staff preview (?subscriber=<id>&date=YYYY-MM-DD); the admin links to it now.
    path("staff/preview/", link_not_built, {"token": ""}, name="staff-preview"),
]
